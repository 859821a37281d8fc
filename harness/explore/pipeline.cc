#include "harness/explore/pipeline.h"

#include <algorithm>
#include <cassert>
#include <filesystem>
#include <optional>
#include <thread>

#include <xxhash.h>

#include "common/file_io.h"
#include "harness/explore/baseline.h"
#include "harness/explore/crash_cause.h"
#include "harness/explore/nested.h"
#include "harness/explore/shard.h"
#include "harness/explore/runner.h"
#include "harness/explore/trace_scan.h"
#include "harness/target/run_dir.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

// The fidelity check and the recorder's gaps: why crash states of `p` may
// not be the target's. A file the target rebuilds differs when its mapping
// was written (a daemon killed before it removed its -shm): expected, and
// only a note.
void FindUnproven(const Manifest& m, PlannedRecording* p) {
  const RecordedRun& run = p->rec.run;
  FidelityResult fidelity = CheckFidelity(run);
  const std::string inside = run.root + "/";
  if (!fidelity.ok && fidelity.path.rfind(inside, 0) == 0 &&
      IsRebuilt(m, fidelity.path.substr(inside.size()))) {
    p->rec.notes.push_back("ignored (rebuilt by the target): fidelity: " + fidelity.gap);
    fidelity.ok = true;
  }
  for (const auto& g : UnignoredGaps(run.trace_path, m, run.root)) {
    p->unproven.push_back("recorder gap: " + g);
  }
  if (!fidelity.ok) {
    p->unproven.push_back("fidelity: " + fidelity.gap);
    // Not in the trace: the model cannot place it, so the states that hold
    // the file (every state, for a name the trace never made) are unproven.
    RecordedRun& r = p->rec.run;
    const bool one_file = !fidelity.name_missing && fidelity.path.rfind(inside, 0) == 0;
    r.unknown_files.push_back(one_file ? fidelity.path.substr(inside.size()) : "");
    r.unknown_reason = "fidelity: " + fidelity.gap;
  }
}

}  // namespace

Status PlanRecorded(const PipelineContext& ctx, Recording rec,
                    std::unique_ptr<PlannedRecording>* out) {
  auto p = std::make_unique<PlannedRecording>();
  p->rec = std::move(rec);
  p->plan.scenario = ctx.scenario;
  p->plan.manifest = ctx.manifest;
  p->plan.tools = ctx.tools;
  p->plan.recording = &p->rec;
  if (Status st = PreparePlan(&p->plan, &p->facts); !st.ok()) return st;
  *out = std::move(p);
  return Status::Ok();
}

Status RecordPlanned(const PipelineContext& ctx, const std::string& dir, const Interleaving* il,
                     std::unique_ptr<PlannedRecording>* out) {
  Recording rec;
  Status st = RecordWorkload(*ctx.scenario, *ctx.manifest, *ctx.tools, dir, &rec, il);
  if (st.ok()) st = PlanRecorded(ctx, std::move(rec), out);
  if (!st.ok()) return st;
  // An interleaving that does not exist (the step ended before its hit)
  // has nothing to explore, and nothing to prove.
  if (il == nullptr || (*out)->rec.paused) FindUnproven(*ctx.manifest, out->get());
  return Status::Ok();
}

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

std::pair<uint64_t, uint64_t> StateKey(const CrashStateRef& state, const CrashPoint& point) {
  return {state.hash, point.Key()};
}

namespace {

// One walk: the state source, the workers and what they share.
class Walker {
 public:
  Walker(const PipelineContext& ctx, const WalkRequest& req, VerdictCache* cache,
         const StateVisitor& visit)
      : ctx_(ctx),
        req_(req),
        plan_(req.recording->plan),
        cache_(cache),
        visit_(visit),
        nested_(req.nested > 0 && ModelAvailable() && !ctx.manifest->recover.empty()) {}

  Status Run(WalkTotals* totals);

 private:
  void Worker(int k);
  // Takes the next state to explore, or nullopt when the walk is over.
  std::optional<CrashStateRef> Take();
  std::optional<CrashStateRef> NextOwn();
  void MixDigest(const CrashStateRef& state);
  bool CheckState(const CrashStateRef& state, const CrashPoint& point, const std::string& scratch,
                  const std::string& recover_trace, VerdictCache::Entry* entry, bool* cached);
  // Recovers the state in `scratch` (exec'd, or forked when the manifest
  // allows) and checks it; false (the walk failed) on a harness error.
  bool Recover(const CrashStateRef& state, const CrashPoint& point, const std::string& scratch,
               const std::string& recover_trace, bool exec, CheckResult* r);
  // Crashes during the recovery of `outer` (recorded in `scratch`).
  bool WalkNested(const CrashStateRef& outer, const CrashPoint& point, const std::string& scratch,
                  const std::string& outer_cause);
  // Visits a checked state. Returns false when the walk is to stop.
  bool Visit(const CrashStateRef& state, const VerdictCache::Entry& entry, bool cached,
             const std::string& cause, const CrashStateRef* outer);
  void Fail(const std::string& error);

  const PipelineContext& ctx_;
  const WalkRequest& req_;
  const RecoveryPlan& plan_;
  VerdictCache* cache_;
  const StateVisitor& visit_;
  const bool nested_;
  std::unique_ptr<CrashStateSource> source_;
  OpIndex ops_;

  std::mutex mu_;  // guards everything below
  std::string first_error_;
  bool stop_ = false;
  int64_t explored_ = 0;
  int64_t skipped_ = 0;
  int64_t seen_ = 0;          // states of every shard taken, for max_states
  int64_t other_shards_ = 0;  // of those, another shard's
  int64_t own_ = 0;           // of those, this shard's (and unproven ones)
  int64_t nested_explored_ = 0;  // crash states during recoveries, checked
  uint64_t digest_ = 0;
  bool truncated_ = false;
  std::vector<std::string> recovery_gaps_;
  int64_t unproven_ = 0;
  std::vector<std::string> unproven_reasons_;
  // Counts a state whose content depends on a recorder gap. REQUIRES: mu_ held.
  void NoteUnproven(const CrashStateRef& state) {
    ++unproven_;
    std::string why =
        "crash states not checked (content depends on a recorder gap): " + state.unproven;
    auto& r = unproven_reasons_;
    if (std::find(r.begin(), r.end(), why) == r.end()) r.push_back(why);
  }
};

void Walker::Fail(const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (first_error_.empty()) first_error_ = error;
}

// The next state of the source that is neither the sequential recording's
// (an interleaving's skipped prefix) nor another shard's, or nullopt.
// Counts the states it passes. REQUIRES: mu_ held.
std::optional<CrashStateRef> Walker::NextOwn() {
  while (std::optional<CrashStateRef> state = source_->Next()) {
    // An interleaving's crash points before its beside step are the
    // sequential recording's (the same ops): explored there already.
    if (state->crash_seq <= req_.skip_through_seq) {
      ++skipped_;
      continue;
    }
    if (seen_ >= req_.options.max_states) {
      truncated_ = true;
      return std::nullopt;
    }
    MixDigest(*state);
    // max_states counts every shard's states, so each shard cuts where an
    // unsharded walk would.
    if (state->unproven.empty()) ++seen_;
    if (!ShardTakes(ctx_.shard, req_.id_prefix + state->id)) {
      ++other_shards_;
      continue;
    }
    ++own_;
    // A state whose content depends on a recorder gap is never checked.
    if (!state->unproven.empty()) {
      NoteUnproven(*state);
      continue;
    }
    return state;
  }
  return std::nullopt;
}

void Walker::MixDigest(const CrashStateRef& state) {
  digest_ = XXH3_64bits_withSeed(state.id.data(), state.id.size(), digest_ ^ state.crash_seq);
}

std::optional<CrashStateRef> Walker::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!first_error_.empty() || stop_) return std::nullopt;
  std::optional<CrashStateRef> state = NextOwn();
  if (!state) return std::nullopt;
  ++explored_;
  state->id = req_.id_prefix + state->id;
  return state;
}

// "" when two recoveries of one state agree; else what differs.
std::string Difference(const CheckResult& a, const CheckResult& b) {
  if (a.verdict != b.verdict) {
    return std::string(VerdictName(a.verdict)) + " exec'd, " + std::string(VerdictName(b.verdict)) +
           " forked";
  }
  if (a.detail != b.detail) return "exec'd: " + a.detail + "; forked: " + b.detail;
  if (a.has_duplicate != b.has_duplicate || a.lost_pairs != b.lost_pairs ||
      a.duplicate_pairs != b.duplicate_pairs || a.normalized != b.normalized) {
    return "the copies delivered differ";
  }
  return "";
}

bool Walker::Recover(const CrashStateRef& state, const CrashPoint& point,
                     const std::string& scratch, const std::string& recover_trace, bool exec,
                     CheckResult* r) {
  if (fs::exists(scratch)) RemoveTreeInside(ctx_.run_dir, scratch);
  fs::create_directories(scratch);
  CheckInput input;
  Status st = RecoverState(plan_, state, point, scratch, &input, recover_trace, !exec);
  if (!st.ok()) {
    Fail(st.message());
    return false;
  }
  *r = Check(input);
  return true;
}

bool Walker::CheckState(const CrashStateRef& state, const CrashPoint& point,
                        const std::string& scratch, const std::string& recover_trace,
                        VerdictCache::Entry* entry, bool* cached) {
  auto key = StateKey(state, point);
  // A state whose recovery must be recorded is always run.
  *cached = recover_trace.empty() && cache_->Find(key, entry);
  if (*cached) return true;
  using Mode = ForkServerCheck::Mode;
  Mode mode = !recover_trace.empty() || !ctx_.manifest->fork_server ? Mode::kExec
              : ctx_.fork_check != nullptr                          ? ctx_.fork_check->Next()
                                                                    : Mode::kFork;
  CheckResult r;
  if (!Recover(state, point, scratch, recover_trace, mode != Mode::kFork, &r)) return false;
  if (mode == Mode::kCompare) {
    CheckResult forked;
    if (!Recover(state, point, scratch, recover_trace, false, &forked)) return false;
    ctx_.fork_check->Compared(state.id, Difference(r, forked));
  }
  *entry = {r.verdict, r.detail, r.has_duplicate, r.message_id, r.normalized};
  cache_->Put(key, *entry);
  return true;
}

bool Walker::Visit(const CrashStateRef& state, const VerdictCache::Entry& entry, bool cached,
                   const std::string& cause, const CrashStateRef* outer) {
  ctx_.observer->StateChecked(state.crash_seq, IsViolation(entry.verdict));
  CheckedState checked{&state, entry, cached, req_.cause_prefix + cause, outer};
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return false;
  if (!visit_(checked)) stop_ = true;
  return !stop_;
}

bool Walker::WalkNested(const CrashStateRef& outer, const CrashPoint& point,
                        const std::string& scratch, const std::string& outer_cause) {
  RecordedRecovery recovery;
  if (!LoadRecordedRecovery(*ctx_.manifest, scratch, &recovery)) return true;  // never started
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& g : recovery.gaps) recovery_gaps_.push_back(g);
  }
  // Already `recovery-failed`; its crash states would miss the escaped writes.
  if (!recovery.escape.empty()) return true;
  std::unique_ptr<CrashStateSource> source;
  Status opened = OpenCrashStates(recovery.run, req_.options, &source, ctx_.manifest->rebuilt);
  if (!opened.ok()) {
    Fail("crash during recovery: " + opened.message());
    return false;
  }
  OpIndex nested_ops;
  nested_ops.Load(recovery.run.trace_path, recovery.run.root);
  int64_t count = 0;
  while (std::optional<CrashStateRef> inner = source->Next()) {
    if (++count > req_.nested_max_states) {
      std::lock_guard<std::mutex> lock(mu_);
      truncated_ = true;
      break;
    }
    if (!inner->unproven.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      NoteUnproven(*inner);
      continue;
    }
    CrashStateRef state = NestedState(outer, *inner);
    VerdictCache::Entry entry;
    bool cached = false;
    if (!CheckState(state, NestedPoint(point, recovery, *inner), scratch + "/n", "", &entry,
                    &cached)) {
      return false;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++explored_;
      ++nested_explored_;
    }
    std::string cause = "crash in the recovery of [" + outer_cause +
                        "]: " + Cause(*inner, nested_ops, recovery.facts, recovery.run.root);
    if (!Visit(state, entry, cached, cause, &outer)) return false;
  }
  if (!source->Error().empty()) {
    Fail("crash during recovery: " + source->Error());
    return false;
  }
  return true;
}

void Walker::Worker(int k) {
  std::string wdir = req_.scratch_dir + "/w" + std::to_string(k);
  const std::string& root = plan_.recording->run.root;
  while (std::optional<CrashStateRef> state = Take()) {
    std::string scratch = req_.keep_states ? req_.scratch_dir + "/states/" + state->id : wdir;
    CrashPoint point = PointOf(plan_, state->crash_seq);
    VerdictCache::Entry entry;
    bool cached = false;
    std::string trace = nested_ ? RecoveryTracePath(scratch) : "";
    if (!CheckState(*state, point, scratch, trace, &entry, &cached)) return;
    std::string cause = Cause(*state, ops_, *plan_.facts, root, plan_.recording->run.final_seq,
                              entry.message_id);
    if (!Visit(*state, entry, cached, cause, nullptr)) return;
    if (nested_ && !WalkNested(*state, point, scratch, cause)) return;
  }
}

Status Walker::Run(WalkTotals* totals) {
  const RecordedRun& run = plan_.recording->run;
  Status opened = OpenCrashStates(run, req_.options, &source_, ctx_.manifest->rebuilt);
  if (!opened.ok()) return opened;
  ops_.Load(run.trace_path, run.root);
  int jobs = std::max(1, ctx_.jobs);
  std::vector<std::thread> threads;
  for (int k = 0; k < jobs; ++k) threads.emplace_back([this, k] { Worker(k); });
  for (auto& t : threads) t.join();
  if (!req_.keep_states) {
    for (int k = 0; k < jobs; ++k) {
      std::string wdir = req_.scratch_dir + "/w" + std::to_string(k);
      if (fs::exists(wdir)) RemoveTreeInside(ctx_.run_dir, wdir);
    }
  }
  if (!first_error_.empty()) return Status::Error(first_error_);
  if (!source_->Error().empty()) {
    return Status::Error("the model failed under " + req_.options.model + ": " + source_->Error());
  }
  // The states the source itself found identical to one it gave count in
  // the first shard only, so the shards' counts add up.
  int64_t identical = source_->Generated() - skipped_ - other_shards_ - own_;
  bool first = !ctx_.shard.Active() || ctx_.shard.index == 1;
  totals->generated = own_ + (first ? identical : 0);
  totals->pruned = first ? source_->Pruned() : 0;
  totals->nested = nested_explored_;
  totals->digest = digest_;
  totals->explored = explored_;
  totals->truncated = truncated_;
  totals->recovery_gaps = recovery_gaps_;
  totals->unproven = unproven_;
  totals->unproven_reasons = unproven_reasons_;
  assert(totals->generated >= 0);
  return Status::Ok();
}

}  // namespace

Status Walk(const PipelineContext& ctx, const WalkRequest& req, VerdictCache* cache,
            const StateVisitor& visit, WalkTotals* totals) {
  assert(ctx.observer != nullptr && req.recording != nullptr);
  uint64_t seq_total = req.recording->rec.run.final_seq;
  std::string label = ctx.scenario->name + " / " + req.options.model +
                      (req.id_prefix.empty() ? "" : " " + req.id_prefix);
  ctx.observer->ExplorationStarted(label, seq_total);
  Walker walker(ctx, req, cache, visit);
  Status st = walker.Run(totals);
  ctx.observer->ExplorationFinished();
  return st;
}

std::vector<Interleaving> Interleavings(const Scenario& s, const Recording& rec,
                                        std::vector<std::string>* notes) {
  std::vector<Interleaving> out;
  for (size_t i = 0; i < s.steps.size(); ++i) {
    if (!s.steps[i].beside) continue;
    const Beside& b = *s.steps[i].beside;
    auto it = rec.beside_hits.find(i);
    int64_t n = it == rec.beside_hits.end() ? 0 : static_cast<int64_t>(it->second);
    std::string where = "step " + std::to_string(i + 1) + " (" + s.steps[i].MarkData() + ")";
    std::vector<int64_t> hits;
    if (b.at.empty()) {
      for (int64_t k = 1; k <= n; ++k) hits.push_back(k);
    } else {
      for (int64_t k : b.at) {
        if (k <= n) {
          hits.push_back(k);
        } else {
          notes->push_back(where + " makes " + std::to_string(n) + " call(s) of " + b.point +
                           ": no hit " + std::to_string(k) + " to run its beside step at");
        }
      }
    }
    if (n == 0) {
      notes->push_back(where + " makes no call of " + b.point + ": nothing runs beside it");
    }
    size_t cap = static_cast<size_t>(s.max_interleavings);
    if (hits.size() > cap) {
      notes->push_back(where + ": " + std::to_string(cap) + " of " + std::to_string(hits.size()) +
                       " interleavings explored (max_interleavings), spread evenly");
      std::vector<int64_t> picked;
      for (size_t j = 0; j < cap; ++j) {
        size_t index = cap == 1 ? 0 : j * (hits.size() - 1) / (cap - 1);
        picked.push_back(hits[index]);
      }
      hits = picked;
    }
    for (int64_t k : hits) out.push_back({i, k});
  }
  return out;
}

Status ForEachRecording(const PipelineContext& ctx, const std::string& work_dir, bool keep_states,
                        std::vector<std::string>* notes,
                        const std::function<bool(const RecordingVisit&)>& fn,
                        BaselineFailure* baseline) {
  const Scenario& s = *ctx.scenario;
  std::unique_ptr<PlannedRecording> seq;
  if (Status st = RecordPlanned(ctx, work_dir + "/record", nullptr, &seq); !st.ok()) return st;
  notes->insert(notes->end(), seq->rec.notes.begin(), seq->rec.notes.end());
  if (Status st = CheckBaseline(ctx, *seq, work_dir + "/baseline", baseline); !st.ok()) return st;
  if (baseline->failed() || !fn({seq.get(), "", "", 0, true})) return Status::Ok();
  // Every interleaving of each step with its beside step, explored as the
  // sequential recording is.
  std::vector<Interleaving> interleavings = Interleavings(s, seq->rec, notes);
  if (!interleavings.empty()) ctx.observer->InterleavingsFound(s.name, interleavings.size());
  for (const Interleaving& il : interleavings) {
    std::string prefix = InterleavingPrefix(s, il);
    std::string dir = work_dir + "/" + SafeFileName(prefix);
    std::unique_ptr<PlannedRecording> rec;
    if (Status st = RecordPlanned(ctx, dir, &il, &rec); !st.ok()) {
      return Status::Error("interleaving " + prefix + ": " + st.message());
    }
    if (!rec->rec.paused) {
      notes->push_back("interleaving " + prefix + " does not exist: step " +
                       std::to_string(il.step + 1) + " ended before its hit " +
                       std::to_string(il.hit));
    } else {
      for (const auto& n : rec->rec.notes) notes->push_back(prefix + " " + n);
      if (!fn({rec.get(), prefix, rec->rec.beside_label + ": ", rec->rec.beside_mark_seq, false})) {
        return Status::Ok();
      }
    }
    if (!keep_states) RemoveTreeInside(ctx.run_dir, dir);
  }
  return Status::Ok();
}

namespace {

// The state `id` among those of `run` under `options`.
std::optional<CrashStateRef> FindIn(CrashStateSource* source, const std::string& id) {
  while (std::optional<CrashStateRef> state = source->Next()) {
    if (state->id == id) return state;
  }
  return std::nullopt;
}

// Records the recovery of out->state in `scratch` and replaces it by its
// inner state `inner_id`, as Walker::WalkNested builds it.
Status FindNested(const PipelineContext& ctx, const ExploreOptions& options,
                  const RecoveryPlan& plan, const std::string& inner_id, const std::string& scratch,
                  FoundState* out) {
  const std::string outer_id = out->state.id;
  CheckInput outer_input;
  Status st =
      RecoverState(plan, out->state, out->point, scratch, &outer_input, RecoveryTracePath(scratch));
  if (!st.ok()) return st;
  RecordedRecovery recovery;
  if (!LoadRecordedRecovery(*ctx.manifest, scratch, &recovery)) {
    return Status::Error("the recovery of " + outer_id +
                         " did not start: " + outer_input.recovery_failure);
  }
  if (!recovery.escape.empty()) {
    return Status::Error("the recovery of " + outer_id + " wrote outside its root (" +
                         recovery.escape + "), so no crash during it is explored");
  }
  std::unique_ptr<CrashStateSource> source;
  st = OpenCrashStates(recovery.run, options, &source, ctx.manifest->rebuilt);
  if (!st.ok()) return Status::Error("crash during recovery: " + st.message());
  std::optional<CrashStateRef> inner = FindIn(source.get(), inner_id);
  if (!inner) {
    return Status::Error("the recovery of " + outer_id + " has no crash state " + inner_id);
  }
  for (const SinkMark& m : recovery.facts.SinkBefore(inner->crash_seq)) {
    for (const auto& r : m.rcpts) out->during_recovery.push_back(m.id + "->" + r);
  }
  out->point = NestedPoint(out->point, recovery, *inner);
  out->state = NestedState(out->state, *inner);
  out->nested = true;
  out->keep_alive = std::move(source);
  return Status::Ok();
}

}  // namespace

Status FindState(const PipelineContext& ctx, const PlannedRecording& recording,
                 const ExploreOptions& options, const std::string& id, const std::string& scratch,
                 FoundState* out) {
  size_t slash = id.find('/');
  std::string outer_id = id.substr(0, slash);
  std::unique_ptr<CrashStateSource> opened;
  Status st = OpenCrashStates(recording.rec.run, options, &opened, ctx.manifest->rebuilt);
  if (!st.ok()) return st;
  std::shared_ptr<CrashStateSource> source = std::move(opened);
  std::optional<CrashStateRef> state = FindIn(source.get(), outer_id);
  if (!state) return Status::Error("no crash state " + outer_id);
  out->state = *state;
  out->outer_crash_seq = state->crash_seq;
  out->point = PointOf(recording.plan, state->crash_seq);
  out->keep_alive = source;
  if (slash == std::string::npos) return Status::Ok();
  return FindNested(ctx, options, recording.plan, id.substr(slash + 1), scratch, out);
}

}  // namespace aftershock
