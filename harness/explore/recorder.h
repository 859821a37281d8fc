// Runs a scenario's workload against its target once, traced: init
// (untraced), a copy of the initial state, then every step with its `step`,
// `exit` and `ack` marks in one trace.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/target/command_env.h"
#include "harness/target/manifest.h"
#include "harness/target/message.h"
#include "harness/explore/model_adapter.h"
#include "harness/target/scenario.h"

namespace aftershock {

// One interleaving of a step with its beside step: step `step` (0-based) is
// paused before its `hit`-th call of the beside point, the beside step runs
// to completion, then the paused step goes on.
struct Interleaving {
  size_t step = 0;
  int64_t hit = 0;  // 1-based
};

// One command the workload ran, as the baseline stage judges it.
struct CommandRun {
  std::string what;     // "init", "step 2 (enqueue m1)", "beside step of step 1 (restart)"
  std::string command;  // as /bin/sh -c ran it
  std::string status;   // "0", "127", "signal 11", "timeout", "not-started", "err: ..."
  bool enqueue = false;
  bool fault_armed = false;  // a scenario fault was armed for it: a failure may be the point
  std::string output;        // the end of its stdout and stderr
  bool Succeeded() const { return status == "0"; }
  bool Hung() const { return status == "timeout"; }
  bool Died() const { return status.rfind("signal ", 0) == 0; }
};

struct Recording {
  RecordedRun run;
  std::string work_dir;                       // holds root/, initial/, trace.bin, sink.log, msgs/
  std::map<std::string, Submitted> messages;  // every message the workload submitted
  std::string sink_log;                       // copies delivered during the workload
  std::vector<std::string> notes;             // steps that did not exit 0
  // Sequential recordings: calls of its beside point made by each step that
  // has a beside step (the interleavings it offers), by step index.
  std::map<size_t, uint64_t> beside_hits;
  // Interleaved recordings: false when the step ended before its hit (the
  // interleaving does not exist); otherwise what ran beside what:
  // "restart ran beside step 1 (enqueue m1), paused before its rename ...".
  bool paused = false;
  std::string beside_label;
  uint64_t beside_mark_seq = 0;  // the beside step's `step` mark
  // Every command the workload ran, in order. A sequential recording stops
  // after the first that hung or died without an armed fault (`stopped`):
  // the baseline stage fails on it, and the steps after would only wait.
  std::vector<CommandRun> commands;
  bool stopped = false;
};

// "b3:" for the first step that has a beside step, "s2b3:" for others: the
// prefix of an interleaving's state ids and work directory.
std::string InterleavingPrefix(const Scenario& scenario, const Interleaving& il);
// Parses a state id's interleaving prefix. Returns true iff `id` has one
// naming a step with a beside step; *rest = the id within that recording.
bool ParseInterleavingId(const Scenario& scenario, const std::string& id, Interleaving* il,
                         std::string* rest);

// Records `scenario` against `manifest` inside `work_dir` (created, empty)
// into *out. Ok iff the workload ran; an error for input errors (init
// failed, the target wrote outside its root, a trace unreadable).
// With `interleaving`, that step is paused and its beside step run beside it
// (REQUIRES: the step has one; not a daemon-mode target). Without, steps run
// one after the other and beside_hits is filled.
Status RecordWorkload(const Scenario& scenario, const Manifest& manifest, const ToolPaths& tools,
                      const std::string& work_dir, Recording* out,
                      const Interleaving* interleaving = nullptr);

}  // namespace aftershock
