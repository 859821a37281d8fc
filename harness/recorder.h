// Runs a scenario's workload against its target once, traced: init
// (untraced), a copy of the initial state, then every step with its `step`,
// `exit` and `ack` marks in one trace.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/command_env.h"
#include "harness/manifest.h"
#include "harness/model_adapter.h"
#include "harness/scenario.h"

namespace aftershock {

struct Submitted {
  std::string id;
  std::vector<std::string> rcpts;
  uint64_t body_size = 0;
};

struct Recording {
  RecordedRun run;
  std::string work_dir;                       // holds root/, initial/, trace.bin, sink.log, msgs/
  std::map<std::string, Submitted> messages;  // every message the workload submitted
  std::string sink_log;                       // copies delivered during the workload
  std::vector<std::string> notes;             // steps that did not exit 0
};

// Records `scenario` against `manifest` inside `work_dir` (created, empty).
// Returns true iff the workload ran; false with *error for input errors
// (init failed, the target wrote outside its root, a trace unreadable).
bool RecordWorkload(const Scenario& scenario, const Manifest& manifest, const ToolPaths& tools,
                    const std::string& work_dir, Recording* out, std::string* error);

}  // namespace aftershock
