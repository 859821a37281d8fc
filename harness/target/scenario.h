// A scenario file (docs/scenarios.md): a target, a workload, faults, the
// models and exploration to use, and what the run must show.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/target/manifest.h"
#include "model/status.h"
#include "reports/expectation.h"

namespace aftershock {

enum class StepKind { kEnqueue, kDeliver, kTick, kRestart };
const char* StepKindName(StepKind kind);

struct Beside;

struct Step {
  StepKind kind = StepKind::kDeliver;
  std::string id;                  // enqueue: message id (m1, m2, ...)
  std::vector<std::string> rcpts;  // enqueue
  uint64_t body_size = 0;          // enqueue
  int64_t seconds = 0;             // tick
  // A step run beside this one ([step.beside]); null when none.
  std::shared_ptr<const Beside> beside;
  // The `step` mark's payload: "enqueue m17", "deliver", "tick 3600", ...
  std::string MarkData() const;
};

// A step run while its host step is paused before one of its calls: every
// hit of `point` in the host step (or those in `at`) is one interleaving.
struct Beside {
  Step step;                // enqueue, deliver or restart (no beside of its own)
  std::string point = "*";  // injector point name; "*" = every recorded call
  std::vector<int64_t> at;  // 1-based hits of point; empty = every one
  std::string where;        // "file:line:column" of the [step.beside] table
};

// One fault armed for the workload steps it names (injector fault spec).
struct Fault {
  std::string action;  // "fail" | "short"
  std::string point;   // libfiu name: posix/io/sync/fsync
  int64_t nth = 1;     // the Nth call of that point in the step's command
  std::string err;     // fail: errno name (EIO, ENOSPC, ...)
  int64_t bytes = 0;   // short: bytes the write keeps
  int64_t step = 0;    // 1-based step index; 0 = every step of `during`
  std::string during;  // step kind name, "" = any
  // The injector's spec line: "fail posix/io/sync/fsync nth=3 errno=EIO".
  std::string Spec() const;
  bool AppliesTo(size_t step_index0, StepKind kind) const;
};

struct Scenario {
  std::string file;  // absolute path
  std::string name;  // defaults to the file's stem
  std::string description;
  std::string target;        // absolute manifest path
  std::string target_where;  // "file:line:column" of the `target` value ("" if overridden)
  std::vector<std::string> models;
  std::string strategy = "omit-one";
  uint64_t seed = 1;
  bool seed_given = false;
  int64_t nested = 0;
  int64_t clock_start = 1700000000;
  int64_t max_states = 20000;
  int64_t random_states = 200;
  int64_t max_interleavings = 64;  // per step with a beside step
  EnvList env;                     // added to / overriding the manifest's [env]
  std::vector<Step> steps;
  std::vector<Fault> faults;
  Expectation expect;
};

// Model names a scenario may use.
bool IsKnownModel(const std::string& model);
bool IsKnownStrategy(const std::string& strategy);
// Verdict names an expectation may name.
bool IsKnownVerdictName(const std::string& verdict);

// Loads and validates `path` into *out. Ok iff valid; else the message is
// "file:line:column: message".
Status LoadScenario(const std::string& path, Scenario* out);

}  // namespace aftershock
