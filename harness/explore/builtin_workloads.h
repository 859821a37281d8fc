// The workloads `aftershock check` runs against a target it knows nothing of.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/target/scenario.h"

namespace aftershock {

// Interleavings per beside step of the built-in concurrent workload.
constexpr int64_t kCheckInterleavings = 4;

// The scenarios `aftershock check` runs against a target: small built-in
// workloads covering one message, fan-out, interleaved delivery, the clock
// and steps run beside each other: each only when the manifest promises it
// ([promises]) and is not a daemon-mode target; a line in *notes (when
// given) for each part skipped.
std::vector<Scenario> BuiltinWorkloads(const std::string& manifest_path,
                                       std::vector<std::string>* notes = nullptr);

}  // namespace aftershock
