// The recorder's fidelity check: replaying a recorded trace onto the state
// the root had before the run must give exactly the directory the run left
// (names, bytes, modes). A difference is a recorder gap: the recorder
// missed or misdescribed a call.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "model/trace.h"

namespace aftershock {

// What the root looked like before the run (opaque).
class RootSnapshot;

struct FidelityResult {
  bool ok = false;
  std::string gap;  // the first differing path and how, when !ok
};

// Takes the before-state of root. nullptr (and *error) on failure.
std::shared_ptr<RootSnapshot> SnapshotRoot(const std::string& root, std::string* error);

// Replays trace onto before (ops under its root) and compares with the
// directory on disk now. `trace_path` (and its .seq), when inside the root,
// are left out of the comparison: the recorder never records its own files.
FidelityResult CheckFidelity(const RootSnapshot& before, const Trace& trace,
                             const std::string& trace_path = "");

// Appends a failed check to the trace as a kGap record (path = the first
// differing path when known, data = the message). Returns true iff written.
bool ReportFidelityGap(const std::string& trace_path, const FidelityResult& result);

}  // namespace aftershock
