// The pipeline, written once: record a workload (and its interleavings),
// enumerate its crash states under a model, materialize, recover and drain
// each one, check it. `run`, `check`, `fuzz`, `replay` and the benchmarks
// all go through these functions; the explorer (explorer.h) adds the
// tallies and the evidence on top of Walk().
//
//   RecordPlanned ─► PlannedRecording ─► Walk (crash states × workers)
//        ▲                                 │  CheckState: materialize,
//   ForEachRecording (sequential,          │  recover, drain, Check()
//   then each interleaving)                ▼  (VerdictCache: once per state)
//                                       visitor(CheckedState)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness/explore/observer.h"
#include "harness/explore/recovery.h"
#include "reports/report.h"

namespace aftershock {

// What is fixed for one scenario: its target, tools and the run's scratch.
struct PipelineContext {
  const Scenario* scenario = nullptr;
  const Manifest* manifest = nullptr;
  const ToolPaths* tools = nullptr;
  std::string run_dir;  // the RunDir: every removal is guarded by it
  int jobs = 1;
  RunObserver* observer = nullptr;  // never null once the pipeline runs
  // The baseline recovers the state the run left and fails on a loss there.
  // The fuzzer turns it off: for a generated workload such a loss is the
  // violation it looks for (the walk's "no crash" state reports it).
  bool baseline_end_state = true;
  // The share of the crash states this process checks (shard.h); inactive:
  // all of them.
  ShardSpec shard{};
  // The scenario's check of the fork server (recovery.h); null: recoveries
  // are forked, when the manifest allows, without it.
  ForkServerCheck* fork_check = nullptr;
};

// One recording with what every later stage reads: its promises (MailFacts)
// and the copies its sink accepted, wired into a RecoveryPlan. Not copyable
// nor movable: `plan` points into it.
class PlannedRecording {
 public:
  PlannedRecording() = default;
  PlannedRecording(const PlannedRecording&) = delete;
  PlannedRecording& operator=(const PlannedRecording&) = delete;

  Recording rec;
  MailFacts facts;
  RecoveryPlan plan;
  // Why crash states of this recording may not be the target's (the
  // fidelity check failed, the recorder missed calls): "fidelity: ...".
  std::vector<std::string> unproven;
};

// Records `ctx.scenario` in `dir` (sequentially, or the interleaving `il`)
// and prepares its plan into *out. An error on an input error (init failed,
// the target wrote outside its root) or a harness failure.
Status RecordPlanned(const PipelineContext& ctx, const std::string& dir, const Interleaving* il,
                     std::unique_ptr<PlannedRecording>* out);

// The plan of a recording made earlier (a run's --out, for replay), into *out.
Status PlanRecorded(const PipelineContext& ctx, Recording rec,
                    std::unique_ptr<PlannedRecording>* out);

// Results of checked states, shared by the models and recordings of one
// scenario: identical states (same content, same promises) are checked once.
class VerdictCache {
 public:
  struct Entry {
    Verdict verdict = Verdict::kOk;
    std::string detail;
    bool has_duplicate = false;
    std::string message_id;  // CheckResult::message_id
    // Kinds of legitimate rewrite the state's intact copies showed (none:
    // empty); see CheckResult::normalized.
    std::vector<std::string> normalized;
  };
  bool Find(const std::pair<uint64_t, uint64_t>& key, Entry* out);
  void Put(const std::pair<uint64_t, uint64_t>& key, const Entry& e);

 private:
  std::mutex mu_;
  std::map<std::pair<uint64_t, uint64_t>, Entry> entries_;
};

// The cache key of `state` at `point`: equal keys, equal verdicts.
std::pair<uint64_t, uint64_t> StateKey(const CrashStateRef& state, const CrashPoint& point);

// One crash state through recovery and the checker.
struct CheckedState {
  const CrashStateRef* state = nullptr;
  VerdictCache::Entry entry;
  bool cached = false;  // the verdict of an identical state, not recovered again
  std::string cause;    // the crash in words, for grouping ("dropped rename {root}/new/#")
  // A crash during the recovery of *outer (nested exploration); else null.
  const CrashStateRef* outer = nullptr;
};

struct WalkRequest {
  const PlannedRecording* recording = nullptr;
  ExploreOptions options;
  std::string scratch_dir;  // inside ctx.run_dir: the workers' directories
  bool keep_states = false;
  // 1: record each state's recovery and crash it too (every state the
  // model gives for it, at most nested_max_states), then recover again.
  int nested = 0;
  int64_t nested_max_states = 64;
  // An interleaved recording: "b3:" before every state id, its label
  // before every cause; crash points at or before skip_through_seq are the
  // sequential recording's and are not explored again.
  std::string id_prefix;
  std::string cause_prefix;
  uint64_t skip_through_seq = 0;
};

struct WalkTotals {
  int64_t generated = 0;                   // states the model gave, less the skipped ones
                                           // and those of other shards
  int64_t pruned = 0;                      // crash points pruned (the first shard counts them)
  int64_t explored = 0;                    // states taken from it (and nested ones)
  int64_t nested = 0;                      // of those, nested ones
  bool truncated = false;                  // max_states or nested_max_states cut the walk
  // Every state the model gave up to the cut, in order, every shard's (ids
  // and crash points): shards of one run agree on it.
  uint64_t digest = 0;
  std::vector<std::string> recovery_gaps;  // recorder gaps in recorded recoveries
  // States whose content depends on a recorder gap: counted, never checked
  // (no verdict may come from them), with their reasons.
  int64_t unproven = 0;
  std::vector<std::string> unproven_reasons;
};

// Called once per checked state, under the walk's lock, in completion
// order. Returns false to stop the walk (no more states are taken).
using StateVisitor = std::function<bool(const CheckedState&)>;

// Walks every crash state of req.recording under req.options with ctx.jobs
// workers: recover and check each (or reuse `cache`), then visit it.
// An error only when the harness or the model failed.
Status Walk(const PipelineContext& ctx, const WalkRequest& req, VerdictCache* cache,
            const StateVisitor& visit, WalkTotals* totals);

// The interleavings to record for each step with a beside step: every hit
// of its point the sequential recording `rec` counted (or those of `at`),
// at most s.max_interleavings per step, spread evenly over the hits. Adds
// a note for each hit asked for that does not exist and for a cap applied.
std::vector<Interleaving> Interleavings(const Scenario& s, const Recording& rec,
                                        std::vector<std::string>* notes);

// One recording of a scenario as ForEachRecording hands it over.
struct RecordingVisit {
  const PlannedRecording* recording = nullptr;
  std::string id_prefix;     // "" for the sequential recording, "b3:" for an interleaving
  std::string cause_prefix;  // "" or "restart ran beside step 1 (...), paused before ...: "
  uint64_t skip_through_seq = 0;
  bool sequential = true;
};

struct BaselineFailure;

// Records the scenario in `work_dir`, checks the baseline (baseline.h) and
// calls `fn` with the sequential recording, then with every interleaving of its beside steps that
// exists (each recorded in a directory of its own, removed after `fn` unless keep_states). Notes
// (steps that failed, interleavings that do not exist) go to *notes. `fn` returns false to stop:
// then so does this, and returns Ok (`fn` keeps its own reasons). An error when a recording
// failed. Ok with *baseline set when the baseline does not hold (then nothing was explored).
Status ForEachRecording(const PipelineContext& ctx, const std::string& work_dir, bool keep_states,
                        std::vector<std::string>* notes,
                        const std::function<bool(const RecordingVisit&)>& fn,
                        BaselineFailure* baseline);

// One crash state looked up by id, as the explorer checked it.
struct FoundState {
  CrashStateRef state;
  CrashPoint point;
  // A nested id "OUTER/INNER": the crash point of the outer state, and the
  // pairs ("m1->alice@local") the sink accepted during the crashed recovery.
  uint64_t outer_crash_seq = 0;
  bool nested = false;
  std::vector<std::string> during_recovery;
  std::shared_ptr<CrashStateSource> keep_alive;  // holds the state's payload
};

// Finds `id` (without an interleaving prefix) among the crash states of
// `recording` under `options`; a nested id records the outer state's
// recovery in `scratch` (inside ctx.run_dir) exactly as Walk does.
Status FindState(const PipelineContext& ctx, const PlannedRecording& recording,
                 const ExploreOptions& options, const std::string& id, const std::string& scratch,
                 FoundState* out);

}  // namespace aftershock
