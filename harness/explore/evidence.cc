#include "harness/explore/evidence.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/file_io.h"
#include "harness/explore/evidence_cause.h"
#include "harness/target/message.h"
#include "harness/explore/nested.h"
#include "harness/target/run_dir.h"
#include "model/trace.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

int KindRank(const std::string& kind) {
  static const char* kOrder[] = {"lost", "corrupted", "phantom", "duplicated", "unacked-delivered"};
  for (int i = 0; i < 5; ++i) {
    if (kind == kOrder[i]) return i;
  }
  return 5;
}

}  // namespace

std::vector<MailFinding> ListMailFindings(const CheckInput& in) {
  std::vector<MailFinding> out;
  std::map<Pair, int64_t> delivered;
  std::set<std::string> acked_ids;
  for (const auto& [id, rcpt] : in.acked) acked_ids.insert(id);
  for (const DeliveredCopy& d : in.deliveries) {
    if (IsInterruptedAppend(d, in)) continue;  // not a copy: the checker's rule
    ParsedCopy p = ParseCopy(d.copy);
    auto msg = in.messages->find(p.id);
    if (p.id.empty()) {
      if (const Submitted* m = TornFrom(d.copy, *in.messages)) {
        out.push_back({"corrupted", m->id, d.rcpts.empty() ? "" : d.rcpts.front(),
                       "torn: " + std::to_string(d.copy.size()) + " bytes, no readable id (" +
                           d.where + ")"});
        continue;
      }
    }
    if (p.id.empty() || msg == in.messages->end()) {
      out.push_back({"phantom", p.id, d.rcpts.empty() ? "" : d.rcpts.front(),
                     "a copy no one submitted (" + d.where + ")"});
      continue;
    }
    const Submitted& m = msg->second;
    std::vector<std::string> rcpts = d.rcpts.empty() ? m.rcpts : d.rcpts;
    CopyMatch match = MatchDelivered(d, m);
    if (!match.intact) {
      out.push_back({"corrupted", m.id, rcpts.empty() ? "" : rcpts.front(),
                     match.difference + " (" + d.where + ")"});
      continue;
    }
    for (const auto& r : rcpts) {
      if (std::find(m.rcpts.begin(), m.rcpts.end(), r) == m.rcpts.end()) {
        out.push_back(
            {"phantom", m.id, r, "delivered to a recipient it never had (" + d.where + ")"});
        continue;
      }
      ++delivered[{m.id, r}];
    }
  }
  for (const Pair& pair : in.acked) {
    if (delivered[pair] == 0)
      out.push_back({"lost", pair.first, pair.second,
                     "acknowledged before the crash; no intact copy after recovery"});
  }
  for (const auto& [pair, n] : delivered) {
    if (n > 1)
      out.push_back(
          {"duplicated", pair.first, pair.second, "delivered " + std::to_string(n) + " times"});
    if (n > 0 && !acked_ids.count(pair.first))
      out.push_back({"unacked-delivered", pair.first, pair.second,
                     "delivered though its enqueue was not acknowledged (allowed)"});
  }
  std::stable_sort(out.begin(), out.end(), [](const MailFinding& a, const MailFinding& b) {
    return KindRank(a.kind) < KindRank(b.kind);
  });
  if (out.size() > kMailMaxFindings) out.resize(kMailMaxFindings);
  return out;
}

std::vector<TreeEntry> ListTree(const std::string& dir, bool* truncated) {
  std::vector<TreeEntry> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;
    TreeEntry e;
    e.path = fs::relative(it->path(), dir).string();
    e.type = S_ISREG(st.st_mode)   ? 'f'
             : S_ISDIR(st.st_mode) ? 'd'
             : S_ISLNK(st.st_mode) ? 'l'
                                   : 'o';
    e.size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
    e.mode = st.st_mode & 07777;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  if (out.size() > kTreeMaxEntries) {
    out.resize(kTreeMaxEntries);
    *truncated = true;
  }
  return out;
}

EvidenceCollector::EvidenceCollector(const RecoveryPlan* plan, std::string scratch_dir,
                                     std::string run_dir, std::string model, std::string strategy)
    : plan_(plan),
      scratch_dir_(std::move(scratch_dir)),
      run_dir_(std::move(run_dir)),
      model_(std::move(model)),
      strategy_(std::move(strategy)) {}

void EvidenceCollector::Note(size_t group, const CrashStateRef& state, const CrashStateRef* outer) {
  auto [it, inserted] = examples_.try_emplace(group, state);
  if (!inserted && StatePrecedes(state.crash_seq, state.id, it->second.crash_seq, it->second.id)) {
    it->second = state;  // the earliest state, whatever order workers finish in
  }
  if (it->second.id == state.id) {
    if (outer) {
      outers_.insert_or_assign(group, *outer);
    } else {
      outers_.erase(group);
    }
  }
  auto& points = points_[group];
  if (points.size() < kCrashPointsMax || points.count(state.crash_seq)) ++points[state.crash_seq];
}

void EvidenceCollector::Fill(std::vector<ViolationGroup>* groups) {
  if (examples_.empty()) return;
  TraceError trace_error;
  std::optional<Trace> trace = ReadTrace(plan_->recording->run.trace_path, &trace_error);
  Symbolizer symbolizer;
  for (const auto& [index, state] : examples_) {
    if (index >= groups->size()) continue;
    ViolationGroup& g = (*groups)[index];
    Evidence& e = g.evidence;
    e = Evidence{};
    std::string dir = scratch_dir_ + "/g" + std::to_string(index);
    std::error_code ec;
    if (fs::exists(dir, ec)) RemoveTreeInside(run_dir_, dir);
    fs::create_directories(dir, ec);
    if (state.id.find('/') != std::string::npos) {
      auto outer = outers_.find(index);
      if (outer == outers_.end()) {
        e.error = "a crash during recovery: no evidence collected (replay it)";
      } else {
        FillNested(outer->second, state, &g, dir, &symbolizer);
      }
      RemoveTreeInside(run_dir_, dir);
      for (const auto& [seq, n] : points_[index]) e.crash_points.emplace_back(seq, n);
      continue;
    }
    std::vector<Op> none;
    Status derived =
        DeriveFromState(state, PointOf(*plan_, state.crash_seq), trace ? trace->ops : none,
                        plan_->recording->run.root, g, dir, &symbolizer, &e);
    // What recover and deliver printed on the example (the runner keeps it
    // in --out); none when they never ran.
    g.example_output = ReadFileBytes(dir + "/recover/commands.log");
    RemoveTreeInside(run_dir_, dir);
    if (!trace) e.error = "trace unreadable: " + trace_error.message;
    if (!derived.ok()) e.error += (e.error.empty() ? "" : "; ") + derived.message();
    for (const auto& [seq, n] : points_[index]) e.crash_points.emplace_back(seq, n);
  }
  rerecorded_.clear();
  if (fs::exists(scratch_dir_)) RemoveTreeInside(run_dir_, scratch_dir_);
}

const EvidenceCollector::Rerecorded& EvidenceCollector::Rerecord(const CrashStateRef& outer) {
  auto [it, inserted] = rerecorded_.try_emplace(outer.id);
  if (!inserted) return *it->second;
  it->second = std::make_unique<Rerecorded>();
  Rerecorded& r = *it->second;
  std::string dir = scratch_dir_ + "/outer" + std::to_string(rerecorded_.size());
  CheckInput input;
  r.point = PointOf(*plan_, outer.crash_seq);
  Status st = RecoverState(*plan_, outer, r.point, dir, &input, RecoveryTracePath(dir));
  if (!st.ok() || !LoadRecordedRecovery(*plan_->manifest, dir, &r.recovery)) {
    r.error = "a crash during recovery: its recovery could not be recorded again" +
              (st.ok() ? "" : ": " + st.message());
    return r;
  }
  TraceError trace_error;
  r.trace = ReadTrace(r.recovery.run.trace_path, &trace_error);
  if (!r.trace) r.error = "the recovery's trace is unreadable: " + trace_error.message;
  return r;
}

void EvidenceCollector::FillNested(const CrashStateRef& outer, const CrashStateRef& state,
                                   ViolationGroup* g, const std::string& dir,
                                   Symbolizer* symbolizer) {
  Evidence& e = g->evidence;
  // The recovery's trace is gone: record it again, as the explorer did.
  const Rerecorded& r = Rerecord(outer);
  if (!r.error.empty()) {
    e.error = r.error;
    return;
  }
  const RecordedRecovery& recovery = r.recovery;
  const CrashPoint& outer_point = r.point;
  const std::optional<Trace>& trace = r.trace;
  Status derived = DeriveFromState(state, NestedPoint(outer_point, recovery, state), trace->ops,
                                   recovery.run.root, *g, dir, symbolizer, &e);
  // The timeline and culprit are the crashed recovery's, not the workload's.
  e.root_cause =
      "during the recovery of state " + outer.id + " (" + outer.description + "): " + e.root_cause;
  if (!derived.ok()) e.error = derived.message();
}

Status EvidenceCollector::DeriveFromState(const CrashStateRef& state, const CrashPoint& point,
                                          const std::vector<Op>& ops, const std::string& root,
                                          const ViolationGroup& g, const std::string& dir,
                                          Symbolizer* symbolizer, Evidence* e) {
  bool truncated = false;
  Status status = MaterializeCrashState(state, dir + "/before");
  if (status.ok()) e->tree_before = ListTree(dir + "/before", &truncated);
  CheckInput input;
  // Exec'd, as the baseline: the example's log is what a user reproduces.
  if (Status recovered = RecoverState(*plan_, state, point, dir + "/recover", &input, "", false);
      recovered.ok()) {
    e->tree_after = ListTree(dir + "/recover/root", &truncated);
  } else {
    status = recovered;
    input.acked = point.acked;
    input.messages = &plan_->recording->messages;
  }
  // This recovery is not recorded, so it cannot see what made a recorded
  // one (nested crashes) fail, an escape: the verdict's own words then.
  if (g.verdict == Verdict::kRecoveryFailed && input.recovery_failure.empty()) {
    input.recovery_failure = g.example_detail;
  }
  e->tree_truncated = truncated;
  CauseInput in;
  in.ops = &ops;
  in.root = root;
  in.model = model_;
  in.strategy = strategy_;
  in.verdict = g.verdict;
  in.crash_seq = state.crash_seq;
  in.dropped_seqs = state.dropped_seqs;
  in.dropped_seqs.insert(in.dropped_seqs.end(), state.lost_seqs.begin(), state.lost_seqs.end());
  in.torn_seqs = state.torn_seqs;
  in.mail = ListMailFindings(input);
  in.recovery_failure = input.recovery_failure;
  DeriveEvidence(in, symbolizer, e);
  return status;
}

}  // namespace aftershock
