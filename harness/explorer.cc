#include "harness/explorer.h"

#include <xxhash.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <thread>

#include "harness/evidence.h"
#include "harness/nested.h"
#include "harness/run_dir.h"
#include "model/trace.h"

namespace aftershock {
namespace {

// A path as a person groups it: the root as {root}, digit runs as '#'.
std::string PathPattern(const std::string& path, const std::string& root) {
  std::string p = path;
  if (p.rfind(root, 0) == 0) p = "{root}" + p.substr(root.size());
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(p[i]))) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += p[i];
    }
  }
  return out;
}

class OpIndex {
 public:
  // Keeps the ops inside the crash domain: the only ones a crash can cut.
  void Load(const std::string& trace_path, const std::string& root) {
    TraceReader reader(trace_path);
    while (auto op = reader.Next()) {
      if (op->kind == OpKind::kMark || op->path.compare(0, root.size() + 1, root + "/") != 0) {
        continue;
      }
      ops_[op->seq] = {op->kind, op->path};
    }
  }
  // "rename {root}/incoming/#" for the op with `seq`, or "" when unknown.
  std::string Describe(uint64_t seq, const std::string& root) const {
    auto it = ops_.find(seq);
    if (it == ops_.end()) return "";
    return std::string(trace::KindName(it->second.first)) + " " +
           PathPattern(it->second.second, root);
  }
  // The last op before `seq`.
  std::string DescribeBefore(uint64_t seq, const std::string& root) const {
    auto it = ops_.lower_bound(seq);
    if (it == ops_.begin()) return "";
    --it;
    return Describe(it->first, root);
  }

 private:
  std::map<uint64_t, std::pair<OpKind, std::string>> ops_;
};

// end_seq: one past the last record of the run (0 = unknown): a state at
// or past it is the end state, which no crash cut.
std::string Cause(const CrashStateRef& s, const OpIndex& ops, const MailFacts& facts,
                  const std::string& root, uint64_t end_seq = 0) {
  auto op = [&](uint64_t seq) {
    std::string d = ops.Describe(seq, root);
    return d.empty() ? "op " + std::to_string(seq) : d;
  };
  if (!s.dropped_seqs.empty()) return "dropped " + op(s.dropped_seqs.front());
  if (!s.torn_seqs.empty()) return "torn " + op(s.torn_seqs.front());
  if (!s.lost_seqs.empty()) return "lost to a failed fsync: " + op(s.lost_seqs.front());
  if (end_seq != 0 && s.crash_seq >= end_seq) return "no crash: the state the whole run left";
  std::string step = facts.StepAt(s.crash_seq);
  std::string before = ops.DescribeBefore(s.crash_seq, root);
  // Group by the step kind, not the message: "step 3 (enqueue m2)" -> "enqueue".
  std::string kind = step;
  size_t open = step.find('(');
  if (open != std::string::npos) {
    kind = step.substr(open + 1);
    kind = kind.substr(0, kind.find_first_of(" )"));
  }
  if (open == std::string::npos) return "crash before the first step";
  return "crash during " + kind + (before.empty() ? ", before its first op" : ", after " + before);
}

}  // namespace

bool VerdictCache::Find(const std::pair<uint64_t, uint64_t>& key, Entry* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  *out = it->second;
  return true;
}

void VerdictCache::Put(const std::pair<uint64_t, uint64_t>& key, const Entry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.emplace(key, e);
}

// Counts a crash state whose content depends on a recorder gap: it is not
// checked, so no verdict can come from it; its reason makes the result
// inconclusive. REQUIRES: the caller serialises access to `out`.
static void NoteUnproven(const CrashStateRef& state, ModelResult* out) {
  ++out->states_unproven;
  std::string why =
      "crash states not checked (content depends on a recorder gap): " + state.unproven;
  auto& reasons = out->inconclusive_reasons;
  if (std::find(reasons.begin(), reasons.end(), why) == reasons.end()) reasons.push_back(why);
}

bool Explore(const ExploreRequest& req, VerdictCache* cache, Progress* progress, ModelResult* out,
             std::string* error) {
  auto start = std::chrono::steady_clock::now();
  const RecoveryPlan& plan = *req.plan;
  out->model = req.options.model;
  out->strategy = req.options.strategy;
  std::unique_ptr<CrashStateSource> source =
      OpenCrashStates(plan.recording->run, req.options, error, plan.manifest->rebuilt);
  if (!source) return false;
  OpIndex ops;
  const std::string& root = plan.recording->run.root;
  ops.Load(plan.recording->run.trace_path, root);
  progress->seq_total.store(plan.recording->run.final_seq);

  std::mutex mu;  // guards source, out, first_error, group_index
  std::string first_error;
  std::map<std::pair<Verdict, std::string>, size_t> group_index;
  std::set<std::string> recovery_gaps;  // recorder gaps in recorded recoveries
  int64_t with_duplicate = 0;
  int64_t explored = 0;
  int64_t skipped = 0;  // crash points up to req.skip_through_seq
  EvidenceCollector evidence(&plan, req.scratch_dir + "/evidence", req.run_dir, req.options.model,
                             req.options.strategy);

  // Adds one checked state to the results. REQUIRES: mu held.
  // `outer`: for a crash during recovery, the state whose recovery crashed.
  auto tally = [&](const CrashStateRef& state, const VerdictCache::Entry& entry, bool cached,
                   const std::string& state_cause, const CrashStateRef* outer) {
    const std::string cause = req.cause_prefix + state_cause;
    ++out->verdicts[static_cast<int>(entry.verdict)];
    ++out->states_unique;
    if (!cached) ++out->states_recovered;
    if (entry.has_duplicate) ++with_duplicate;
    if (entry.verdict == Verdict::kOk || entry.verdict == Verdict::kUnackedDelivered) return;
    auto [it, inserted] =
        group_index.emplace(std::make_pair(entry.verdict, cause), out->groups.size());
    if (inserted) {
      ViolationGroup g;
      g.verdict = entry.verdict;
      g.cause = cause;
      g.example_state = state.id;
      g.example_description = state.description;
      g.example_detail = entry.detail;
      std::string dir = state.id;
      std::replace(dir.begin(), dir.end(), '/', '_');
      g.reproduce =
          req.reproduce_prefix + " --state " + state.id + " --into aftershock-replay-" + dir;
      out->groups.push_back(g);
    }
    ViolationGroup& group = out->groups[it->second];
    // Workers finish in any order: the example is the earliest state of the
    // group (by crash point, then id), so one seed gives one report.
    if (!inserted &&
        StatePrecedes(state.crash_seq, state.id, group.example_crash_seq, group.example_state)) {
      group.example_state = state.id;
      group.example_description = state.description;
      group.example_detail = entry.detail;
      std::string dir = state.id;
      std::replace(dir.begin(), dir.end(), '/', '_');
      group.reproduce =
          req.reproduce_prefix + " --state " + state.id + " --into aftershock-replay-" + dir;
    }
    if (inserted || group.example_state == state.id) {
      group.example_crash_seq = state.crash_seq;
      group.example_hash = state.hash;
    }
    ++group.count;
    evidence.Note(it->second, state, outer);
  };

  // Recovers and checks one state (or reuses the verdict of an identical
  // one). Returns false with first_error set when the harness failed.
  auto check_state = [&](const CrashStateRef& state, const CrashPoint& point,
                         const std::string& scratch, const std::string& recover_trace,
                         VerdictCache::Entry* entry, bool* cached) {
    std::pair<uint64_t, uint64_t> key{state.hash, point.Key()};
    // A state whose recovery must be recorded is always run.
    *cached = recover_trace.empty() && cache->Find(key, entry);
    if (*cached) return true;
    if (std::filesystem::exists(scratch)) RemoveTreeInside(req.run_dir, scratch);
    std::filesystem::create_directories(scratch);
    CheckInput input;
    std::string err;
    if (!RecoverState(plan, state, point, scratch, &input, &err, recover_trace)) {
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.empty()) first_error = err;
      return false;
    }
    CheckResult r = Check(input);
    *entry = {r.verdict, r.detail, r.has_duplicate};
    cache->Put(key, *entry);
    return true;
  };

  // Crashes during the recovery of `outer` (recorded in `scratch`), each
  // recovered again.
  auto explore_nested = [&](const CrashStateRef& outer, const CrashPoint& point,
                            const std::string& scratch, const std::string& outer_cause) {
    RecordedRecovery recovery;
    if (!LoadRecordedRecovery(*plan.manifest, scratch, &recovery)) return true;  // never started
    if (!recovery.gaps.empty()) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& g : recovery.gaps) recovery_gaps.insert(g);
    }
    // Already `recovery-failed`; its crash states would miss the escaped writes.
    if (!recovery.escape.empty()) return true;
    std::string err;
    std::unique_ptr<CrashStateSource> source =
        OpenCrashStates(recovery.run, req.options, &err, plan.manifest->rebuilt);
    if (!source) {
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.empty()) first_error = "crash during recovery: " + err;
      return false;
    }
    OpIndex nested_ops;
    nested_ops.Load(recovery.run.trace_path, recovery.run.root);
    int64_t count = 0;
    while (std::optional<CrashStateRef> inner = source->Next()) {
      if (++count > req.nested_max_states) {
        std::lock_guard<std::mutex> lock(mu);
        out->truncated = true;
        break;
      }
      if (!inner->unproven.empty()) {
        std::lock_guard<std::mutex> lock(mu);
        NoteUnproven(*inner, out);
        continue;
      }
      CrashStateRef state = NestedState(outer, *inner);
      CrashPoint p = NestedPoint(point, recovery, *inner);
      VerdictCache::Entry entry;
      bool cached = false;
      if (!check_state(state, p, scratch + "/n", "", &entry, &cached)) return false;
      progress->done.fetch_add(1);
      if (IsViolation(entry.verdict)) progress->violations.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu);
      ++explored;
      tally(state, entry, cached,
            "crash in the recovery of [" + outer_cause +
                "]: " + Cause(*inner, nested_ops, recovery.facts, recovery.run.root),
            &outer);
    }
    if (!source->Error().empty()) {
      std::lock_guard<std::mutex> lock(mu);
      if (first_error.empty()) first_error = "crash during recovery: " + source->Error();
      return false;
    }
    return true;
  };

  bool nested = req.nested > 0 && ModelAvailable() && !plan.manifest->recover.empty();
  auto worker = [&](int k) {
    std::string wdir = req.scratch_dir + "/w" + std::to_string(k);
    for (;;) {
      std::optional<CrashStateRef> state;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error.empty()) return;
        state = source->Next();
        // An interleaving's crash points before its beside step are the
        // sequential recording's (the same ops): explored there already.
        while (state && state->crash_seq <= req.skip_through_seq) {
          ++skipped;
          state = source->Next();
        }
        // A state whose content depends on a recorder gap is never checked.
        while (state && !state->unproven.empty()) {
          NoteUnproven(*state, out);
          state = source->Next();
        }
        if (!state) return;
        state->id = req.id_prefix + state->id;
        if (explored >= req.options.max_states) {
          out->truncated = true;
          return;
        }
        ++explored;
        progress->seq_done.store(state->crash_seq);
      }
      std::string scratch = req.keep_states ? req.scratch_dir + "/states/" + state->id : wdir;
      CrashPoint point = PointOf(plan, state->crash_seq);
      VerdictCache::Entry entry;
      bool cached = false;
      std::string trace = nested ? RecoveryTracePath(scratch) : "";
      if (!check_state(*state, point, scratch, trace, &entry, &cached)) return;
      progress->done.fetch_add(1);
      if (IsViolation(entry.verdict)) progress->violations.fetch_add(1);
      std::string cause = Cause(*state, ops, *plan.facts, root, plan.recording->run.final_seq);
      {
        std::lock_guard<std::mutex> lock(mu);
        tally(*state, entry, cached, cause, nullptr);
      }
      if (nested && !explore_nested(*state, point, scratch, cause)) return;
    }
  };
  std::vector<std::thread> threads;
  for (int k = 0; k < std::max(1, req.jobs); ++k) threads.emplace_back(worker, k);
  for (auto& t : threads) t.join();
  if (!req.keep_states) {
    for (int k = 0; k < std::max(1, req.jobs); ++k) {
      std::string wdir = req.scratch_dir + "/w" + std::to_string(k);
      if (std::filesystem::exists(wdir)) RemoveTreeInside(req.run_dir, wdir);
    }
  }
  if (!first_error.empty()) {
    *error = first_error;
    return false;
  }
  if (!source->Error().empty()) {
    *error = "the model failed: " + source->Error();
    return false;
  }
  for (const auto& g : recovery_gaps) {
    out->inconclusive_reasons.push_back("recorder gap in a recorded recovery: " + g);
  }
  out->inconclusive = !out->inconclusive_reasons.empty();
  evidence.Fill(&out->groups);
  out->states_explored = std::max<int64_t>(source->Generated() - skipped, explored);
  out->duplicate_rate = explored ? static_cast<double>(with_duplicate) / explored : 0.0;
  std::sort(out->groups.begin(), out->groups.end(),
            [](const ViolationGroup& a, const ViolationGroup& b) {
              if (a.verdict != b.verdict) return a.verdict > b.verdict;
              if (a.count != b.count) return a.count > b.count;
              return a.cause < b.cause;
            });
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return true;
}

void MergeModelResult(const ModelResult& part, ModelResult* into) {
  auto duplicates = [](const ModelResult& r) {
    return static_cast<int64_t>(
        std::llround(r.duplicate_rate * static_cast<double>(r.states_unique)));
  };
  int64_t with_duplicate = duplicates(*into) + duplicates(part);
  into->states_explored += part.states_explored;
  into->states_unique += part.states_unique;
  into->states_recovered += part.states_recovered;
  into->states_unproven += part.states_unproven;
  for (size_t v = 0; v < into->verdicts.size(); ++v) into->verdicts[v] += part.verdicts[v];
  into->duplicate_rate = into->states_unique > 0 ? static_cast<double>(with_duplicate) /
                                                       static_cast<double>(into->states_unique)
                                                 : 0.0;
  for (const ViolationGroup& g : part.groups) into->groups.push_back(g);
  std::stable_sort(into->groups.begin(), into->groups.end(),
                   [](const ViolationGroup& a, const ViolationGroup& b) {
                     if (a.verdict != b.verdict) return a.verdict > b.verdict;
                     return a.count > b.count;
                   });
  into->seconds += part.seconds;
  into->truncated = into->truncated || part.truncated;
  for (const std::string& r : part.inconclusive_reasons) {
    if (std::find(into->inconclusive_reasons.begin(), into->inconclusive_reasons.end(), r) ==
        into->inconclusive_reasons.end()) {
      into->inconclusive_reasons.push_back(r);
    }
  }
  into->inconclusive = !into->inconclusive_reasons.empty();
}

void Judge(const Scenario& s, ModelResult* r) {
  const Expectation& e = s.expect;
  r->expectation_failures.clear();
  if (e.ViolationExpectedUnder(r->model)) {
    Verdict v = *ParseVerdict(e.violation);
    if (r->Count(v) == 0) {
      r->expectation_failures.push_back(
          "expected a '" + e.violation + "' state under this model; none found" +
          (r->inconclusive ? " (inconclusive: the recorder missed calls; see the gaps)" : ""));
    }
  } else {
    auto limit = [&](Verdict v, int64_t max) {
      if (r->Count(v) > max) {
        r->expectation_failures.push_back(std::to_string(r->Count(v)) + " '" +
                                          std::string(VerdictName(v)) + "' states (at most " +
                                          std::to_string(max) + " expected)");
      }
    };
    limit(Verdict::kLost, e.max_lost);
    limit(Verdict::kCorrupt, e.max_corrupt);
    limit(Verdict::kPhantom, e.max_phantom);
    limit(Verdict::kRecoveryFailed, e.max_recovery_failed);
    if (r->duplicate_rate > e.max_duplicate_rate + 1e-12) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "duplicate rate %.3f above %.3f", r->duplicate_rate,
                    e.max_duplicate_rate);
      r->expectation_failures.push_back(buf);
    }
  }
  for (auto& g : r->groups) {
    // Under a model that must expose the bug, its side effects are expected too.
    g.expected = e.ViolationExpectedUnder(r->model);
  }
  r->passed = r->expectation_failures.empty();
}

}  // namespace aftershock
