// `aftershock fuzz`: RapidCheck generates workloads (harness/workload_gen.h),
// each runs through the real pipeline (fuzz_probe.h); a violating workload
// is shrunk by RapidCheck to the smallest that still violates and written as
// a scenario (with its violation expected, so it serves as a regression),
// then (by the command layer) run once more by `aftershock run`'s code for
// the usual reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/fuzz/workload_gen.h"
#include "harness/target/manifest.h"
#include "harness/target/run_dir.h"

namespace aftershock {

struct FuzzOptions {
  std::string target;  // manifest path
  std::vector<std::string> models = {"process", "posix", "ext4-ordered"};
  // `prefix` finds every sequential refqueue bug the fuzz test looks for,
  // at a fraction of omit-one's states (docs/fuzz.md has the figures).
  std::string strategy = "prefix";
  double budget_s = 60;          // no new workload starts after this
  double shrink_budget_s = 60;   // shrinking stops after this much more
  std::optional<uint64_t> seed;  // RapidCheck's seed; random when unset
  int64_t max_cases = 100000;    // workloads, at most
  int64_t max_states = 2000;     // crash states per model and workload, at most
  // Interleavings of a step with its beside step, at most, spread evenly
  // over its calls: each is a recording explored like the sequential one.
  int64_t max_interleavings = 4;
  std::vector<std::string> domains = {"local", "remote"};
  WorkloadSpace space;  // rcpts from `domains`; max_steps
  EnvList env;          // --env: added to / overriding the manifest's [env]
  std::string out_dir = "aftershock-out";
  int jobs = 1;
  int verbosity = 1;  // 0 quiet, 1 normal (progress on a terminal), 2 verbose
  Confinement sandbox;  // --no-sandbox, --max-*
  std::string command_line;
};

// What a fuzz run found (the exit status says as much; tests read the rest).
struct FuzzOutcome {
  int64_t workloads = 0;  // cases run before the search ended
  int64_t shrinks_tried = 0;
  int64_t shrinks_accepted = 0;
  bool violation = false;
  std::string scenario_file;  // written when a violation was found
  std::string verdict;
  std::vector<std::string> steps;  // the minimal workload, one line per step
};

// Where a fuzz run's lines go. The engine composes them; the command layer
// prints them (library code never prints). Called from the search thread
// and, for Status, from the progress thread.
class FuzzOutput {
 public:
  virtual ~FuzzOutput() = default;
  virtual void Note(const std::string& line) = 0;    // a line for people (stderr)
  virtual void Result(const std::string& line) = 0;  // the closing line (stdout)
  // The progress line, redrawn in place; "" clears it. Only when Interactive().
  virtual void Status(const std::string& line) = 0;
  virtual bool Interactive() const = 0;  // a terminal that shows a redrawn line
};

// Runs the search. Returns the exit status: 0 no violation found within the
// budget, 1 a violation (the scenario written: outcome->scenario_file; the
// command layer then runs it for the reports), 2 bad input or a harness
// failure.
int RunFuzz(const FuzzOptions& options, FuzzOutput* output, FuzzOutcome* outcome);

// "60s", "2m", "1h", "90" (seconds), "1.5m". Returns false on anything else.
bool ParseDuration(const std::string& text, double* seconds);

}  // namespace aftershock
