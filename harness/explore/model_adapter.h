// The one place the harness calls into the model: crash states of a
// recorded run, and materializing one of them.
// With a traced recording, OpenCrashStates() wraps the model's lazy
// generator (model/crash_states.h: the initial state captured after init,
// the trace applied under the chosen model and strategy) and
// MaterializeCrashState() calls the model's Materialize(). Without the
// injector's recorder the trace holds only marks, so a stand-in offers the
// `process` states at step boundaries, from directory snapshots the
// recorder takes, for every model name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "injector/fidelity.h"
#include "model/status.h"
#include "reports/report.h"  // StatePrecedes

namespace aftershock {

// What the recorder leaves for the model.
struct RecordedRun {
  std::string trace_path;
  std::string root;         // where the target ran (paths in the trace lie under it)
  std::string initial_dir;  // a copy of the root right after init
  // Stand-in only: (seq of a step mark, copy of the root just before it).
  std::vector<std::pair<uint64_t, std::string>> snapshots;
  std::string final_snapshot;  // copy of the root after the last step
  uint64_t final_seq = 0;      // one past the last record
  // What the fidelity check found the trace does not reproduce
  // (CrashOptions::unknown_files): crash states holding it are unproven.
  std::vector<std::string> unknown_files;
  std::string unknown_reason;
};

struct ExploreOptions {
  std::string model;     // process, posix, posix+torn, ext4-ordered, ext4-ordered+torn
  std::string strategy;  // prefix, omit-one, random, exhaustive
  uint64_t seed = 1;
  int64_t max_states = 20000;  // the explorer's cap (the generator is not cut)
  int64_t random_states = 200;
};

// The files of one crash state, however they are held.
class StatePayload {
 public:
  virtual ~StatePayload() = default;
  // Writes the state into `dir` (empty or missing). Ok iff done.
  virtual Status MaterializeInto(const std::string& dir) const = 0;
};

struct CrashStateRef {
  std::string id;                      // stable within a recording
  uint64_t crash_seq = 0;              // records with seq < crash_seq happened before the crash
  std::vector<uint64_t> dropped_seqs;  // ops the crash lost
  std::vector<uint64_t> torn_seqs;     // writes kept only in part
  std::vector<uint64_t> lost_seqs;     // writes lost to a failed fsync
  std::string description;             // one line for people
  uint64_t hash = 0;                   // content hash: equal hashes = identical states
  std::shared_ptr<const StatePayload> payload;
  // Non-empty: the content depends on a recorder gap (model/crash_states.h,
  // GapDependence), and why. Such a state is counted, never checked.
  std::string unproven;
};

class CrashStateSource {
 public:
  virtual ~CrashStateSource() = default;
  // The next unique state, or nullopt when done or on error. Not thread-safe.
  virtual std::optional<CrashStateRef> Next() = 0;
  // States built so far, before deduplication.
  virtual int64_t Generated() const = 0;
  // Crash points skipped as sure to give only states already given
  // (CrashOptions::prune).
  virtual int64_t Pruned() const { return 0; }
  // Empty unless the model failed (an unreadable trace, an op it contradicts).
  virtual std::string Error() const { return ""; }
};

// True iff crash states come from the model (recordings are traced), not
// from the stand-in's snapshots.
bool ModelAvailable();

// The crash states of `run` under `options`, into *out. `rebuilt`: the
// manifest's [gaps] rebuilt; a gap on one of these files leaves the states
// that hold it known (CrashState::gap).
Status OpenCrashStates(const RecordedRun& run, const ExploreOptions& options,
                       std::unique_ptr<CrashStateSource>* out,
                       const std::vector<std::string>& rebuilt = {});

// The fidelity check (injector/fidelity.h, the one check): the model's replay
// of the whole trace onto the initial state must equal the directory the run
// left (`run.root` now). ok when it does (or without the model), else the
// first difference (gap "recorder gap: ...", and its path when the directory
// differs): crash states of that recording may then be wrong.
FidelityResult CheckFidelity(const RecordedRun& run);

// The state the whole run left, no crash: the recorded root as it is now.
CrashStateRef EndStateOf(const RecordedRun& run);

// Writes the state into `dir` (empty or missing). Ok iff done.
Status MaterializeCrashState(const CrashStateRef& state, const std::string& dir);

// Copies a directory tree (names, bytes, modes, symlinks). Ok iff done.
Status CopyTree(const std::string& from, const std::string& to);

}  // namespace aftershock
