// Daemon mode: `serve` gets its fault rules once, when it starts, but a
// scenario arms a fault for some steps only (`step = 2`, `during =
// "enqueue"`), and `nth` counts the calls during those steps
// (docs/scenarios.md). The injector counts the hits of rule i across every
// process of the run in the trace's shared page (injector/shared_page.h,
// `rule_hits`), so the harness arms a rule held by the daemon by moving that
// counter: parked far beyond any nth while the current step does not arm
// it, set back to the hits counted while armed when a step does.
//
// Sound because the daemon is idle between steps (one request outstanding
// at a time); calls a daemon makes on its own between requests are counted
// only while a step arms the rule, like every other call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/target/scenario.h"
#include "model/status.h"

namespace aftershock {

// The fault rules each recorded process gets (an injector spec, "" for
// none). The injector numbers rules by position and counts their hits
// across the whole recorded run, so every step gets every rule at the same
// position: a fault not armed for this step is a rule on a point that never
// fires. "nth" then counts calls during the steps the fault is armed for.
std::string FaultsFor(const Scenario& s, size_t step_index, StepKind kind);

// `rule` at position `position` of a step's rules: after the scenario's
// faults (FaultsFor), or after as many rules that never match.
std::string WithRuleAt(const std::string& faults, size_t position, const std::string& rule);

// Daemon mode: the daemon lives across steps, so it gets every fault armed
// for an enqueue step, counted over its whole life.
// Rules keep their positions, as in FaultsFor.
std::string DaemonFaults(const Scenario& s);

// held[k]: the scenario's fault k is armed for some enqueue step, so the
// daemon gets it as a real rule (DaemonFaults).
std::vector<bool> FaultsHeldByDaemon(const Scenario& scenario);

class DaemonFaultArming {
 public:
  // `held[k]`: rule k of the daemon's fault spec is a real rule (the
  // scenario's fault k), not a placeholder. Positions are the scenario's.
  DaemonFaultArming(const Scenario& scenario, std::vector<bool> held, std::string trace_path);

  // Arms exactly the held rules that step `step_index` (0-based, of `kind`)
  // arms; parks the others. An error when the shared page cannot be mapped.
  Status EnterStep(size_t step_index, StepKind kind);
  // Parks every held rule (daemon start-up outside a step, shutdown).
  Status ParkAll();

 private:
  Status Apply(const std::vector<bool>& armed);

  const Scenario& scenario_;
  std::vector<bool> held_;
  std::string trace_path_;
  std::vector<bool> parked_;
  std::vector<uint64_t> saved_;  // hits counted while armed
};

}  // namespace aftershock
