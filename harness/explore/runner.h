// Runs scenarios end to end: record each workload once, explore it under
// every model, judge the expectations, and collect a Report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/explore/observer.h"
#include "harness/explore/recorder.h"
#include "harness/target/run_dir.h"
#include "harness/target/scenario.h"
#include "reports/report.h"

namespace aftershock {

struct RunOptions {
  std::string target;               // --target: overrides every scenario's target
  std::vector<std::string> models;  // --model: overrides the scenarios' models
  std::string strategy;             // --strategy
  int jobs = 1;
  std::optional<uint64_t> seed;  // --seed: overrides the scenarios' seeds
  std::string out_dir = "aftershock-out";
  // Replace out_dir as a whole at the end (harness/explore/staged_out.h);
  // false writes into it in place, beside files of others (aftershock fuzz).
  bool replace_out = true;
  bool keep_states = false;
  Confinement sandbox;  // --no-sandbox, --max-* (harness/target/run_dir.h, ConfineTargets)
  int verbosity = 1;  // 0 quiet, 1 normal, 2 verbose
  int nested = -1;    // --nested: -1 = as each scenario says
  ShardSpec shard;    // --shard K/N or the engine's variables (shard.h); inactive: all
  std::string command_line;
};

// Loads every scenario (all before any runs: an input error exits 2 with no
// partial output). The error names the first bad file.
Status LoadScenarios(const std::vector<std::string>& paths, const RunOptions& options,
                     std::vector<Scenario>* out);

// The command line's --model, --strategy, --seed and --nested, where given,
// over what the scenario says.
void ApplyOverrides(const RunOptions& options, Scenario* s);

// How a run ended. kInputError: a scenario, manifest or target could not
// be run as given (a bad file, init failed, the target wrote outside its
// root); `errors` say what and where, one line each.
// kNotProven: expectations held, but some results depend on what the
// recorder could not see (exit 3, docs/cli.md).
enum class RunStatus { kHeld, kViolation, kInputError, kNotProven };
struct RunOutcome {
  RunStatus status = RunStatus::kHeld;
  std::vector<std::string> errors;
  bool reports_written = false;
};

// Runs them, telling `observer` how it goes, fills *report and writes the
// reports to options.out_dir (unless an error stopped the run first).
RunOutcome ExploreScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options,
                            RunObserver* observer, Report* report);

}  // namespace aftershock
