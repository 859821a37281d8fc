// The recorder's fidelity check: replaying a recorded trace onto the state
// the root had before the run must give exactly the directory the run left
// (names, bytes, modes). A difference is a recorder gap: the recorder
// missed or misdescribed a call. The one check, for `aftershock record
// --check` and for the harness (harness/model_adapter.h).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "model/fs_state.h"
#include "model/op_source.h"
#include "model/trace.h"

namespace aftershock {

// What the root looked like before the run (opaque).
class RootSnapshot;

struct FidelityResult {
  bool ok = false;
  std::string gap;  // the first differing path and how, when !ok
  std::string
      path;  // that path, absolute (as trace records name paths), when the directory differs
  // The directory holds a name the replayed trace lacks: the recorder missed
  // its creation, so which crash states hold it is unknown.
  bool name_missing = false;
};

// Takes the before-state of root. nullptr (and *error) on failure.
std::shared_ptr<RootSnapshot> SnapshotRoot(const std::string& root, std::string* error);

// Replays `ops` onto `before` (its root() the directory the run used) and
// compares with that directory on disk now. `trace_path` (and its .seq),
// when inside the root, are left out of the comparison: the recorder never
// records its own files.
FidelityResult CheckFidelity(FsState before, OpSource* ops, const std::string& trace_path = "");

// The same for a trace in memory and a snapshot taken by SnapshotRoot.
FidelityResult CheckFidelity(const RootSnapshot& before, const Trace& trace,
                             const std::string& trace_path = "");

// Appends a failed check to the trace as a kGap record (path = the first
// differing path when known; data = the message). Returns true iff written.
bool ReportFidelityGap(const std::string& trace_path, const FidelityResult& result);

}  // namespace aftershock
