// One fuzz case through the real pipeline: record the workload, then under
// each model recover, drain and check every crash state, optionally
// stopping at the first violation (all a failing property needs to know).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/target/command_env.h"
#include "harness/target/manifest.h"
#include "harness/target/scenario.h"
#include "model/status.h"
#include "reports/verdict.h"

namespace aftershock {

class ForkServerCheck;

struct ProbeSetup {
  const Manifest* manifest = nullptr;
  const ToolPaths* tools = nullptr;
  std::string run_dir;  // the RunDir: the removal guard
  int jobs = 1;
  std::atomic<int64_t>* states_done = nullptr;  // optional: progress across probes
  // The fork server's check across the session's probes (recovery.h);
  // null: recoveries are forked, when the manifest allows, unchecked.
  ForkServerCheck* fork_check = nullptr;
};

struct ProbeModel {
  std::string model;
  int64_t states = 0;  // states checked under this model
  std::array<int64_t, kVerdictCount> verdicts{};
  bool complete = true;  // false: stopped at the first violation
  int64_t Count(Verdict v) const { return verdicts[static_cast<int>(v)]; }
};

struct ProbeResult {
  std::vector<ProbeModel> models;  // those explored, in the scenario's order
  int64_t states = 0;
  // The first violation seen (lost, corrupt, phantom, recovery-failed).
  bool violation = false;
  Verdict verdict = Verdict::kOk;
  std::string model;
  std::string detail;              // the checker's line: "lost m1 -> bob@remote"
  std::string description;         // the crash state's
  std::vector<std::string> notes;  // workload steps that did not exit 0
};

// Records `s` in `work_dir` (inside setup.run_dir; created, and removed
// before returning) and explores it under s.models in order; then, for a
// step with a beside step, records each of its interleavings (at most
// s.max_interleavings) and explores them the same way from the beside
// step on (a violation's detail then starts with what ran beside what).
// REQUIRES: no beside step when the target is in daemon mode. With
// `stop_at_first`, stops at the first violating state (later models are not
// explored). An error only when the harness or the input failed (init
// failed, the target wrote outside its root, the model failed).
Status ProbeWorkload(const Scenario& s, const ProbeSetup& setup, const std::string& work_dir,
                     bool stop_at_first, ProbeResult* out);

}  // namespace aftershock
