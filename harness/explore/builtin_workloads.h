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
// and (unless the manifest is a daemon-mode target: then a line in *notes,
// when given) steps run beside each other.
std::vector<Scenario> BuiltinWorkloads(const std::string& manifest_path,
                                       std::vector<std::string>* notes = nullptr);

}  // namespace aftershock
