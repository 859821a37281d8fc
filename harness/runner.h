// Runs scenarios end to end: record each workload once, explore it under
// every model, judge the expectations, and collect a Report.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/recorder.h"
#include "harness/scenario.h"
#include "reports/report.h"

namespace aftershock {

struct RunOptions {
  std::string target;               // --target: overrides every scenario's target
  std::vector<std::string> models;  // --model: overrides the scenarios' models
  std::string strategy;             // --strategy
  int jobs = 1;
  std::optional<uint64_t> seed;  // --seed: overrides the scenarios' seeds
  std::string out_dir = "aftershock-out";
  // Replace out_dir as a whole at the end (harness/staged_out.h); false
  // writes into it in place, beside files of others (aftershock fuzz).
  bool replace_out = true;
  bool keep_states = false;
  int verbosity = 1;  // 0 quiet, 1 normal, 2 verbose
  int nested = -1;    // --nested: -1 = as each scenario says
  std::string command_line;
};

// Loads every scenario (all before any runs: an input error exits 2 with no
// partial output). Returns false with *error on the first bad file.
bool LoadScenarios(const std::vector<std::string>& paths, const RunOptions& options,
                   std::vector<Scenario>* out, std::string* error);

// The command line's --model, --strategy, --seed and --nested, where given,
// over what the scenario says.
void ApplyOverrides(const RunOptions& options, Scenario* s);

// Runs them; returns the process exit status (0 held, 1 violation or failed
// expectation, 2 input error) and fills *report. Writes the reports to
// options.out_dir.
int RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options, Report* report);

// The interleavings to record for each step with a beside step: every hit
// of its point the sequential recording `rec` counted (or those of `at`),
// at most s.max_interleavings per step, spread evenly over the hits. Adds
// a note for each hit asked for that does not exist and for a cap applied.
std::vector<Interleaving> Interleavings(const Scenario& s, const Recording& rec,
                                        std::vector<std::string>* notes);

// Interleavings per beside step of the built-in concurrent workload.
constexpr int64_t kCheckInterleavings = 4;

// The scenarios `aftershock check` runs against a target: small built-in
// workloads covering one message, fan-out, interleaved delivery, the clock
// and (unless the manifest is a daemon-mode target: then a line in *notes,
// when given) steps run beside each other.
std::vector<Scenario> BuiltinWorkloads(const std::string& manifest_path,
                                       std::vector<std::string>* notes = nullptr);

}  // namespace aftershock
