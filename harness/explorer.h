// The explorer: every crash state of one recording under one model, checked
// by a pool of workers; identical states (same content, same mail
// specification) are checked once per scenario, across models.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "harness/recovery.h"
#include "reports/report.h"

namespace aftershock {

struct Progress {
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> violations{0};
  // How far through the trace the generator is, for the ETA: crash points
  // come in seq order.
  std::atomic<uint64_t> seq_done{0};
  std::atomic<uint64_t> seq_total{0};
};

// Results of checked states, shared by the models of one scenario.
class VerdictCache {
 public:
  struct Entry {
    Verdict verdict;
    std::string detail;
    bool has_duplicate;
    // Kinds of legitimate rewrite the state's intact copies showed (none:
    // empty); see CheckResult::normalized.
    std::vector<std::string> normalized = {};
  };
  bool Find(const std::pair<uint64_t, uint64_t>& key, Entry* out);
  void Put(const std::pair<uint64_t, uint64_t>& key, const Entry& e);

 private:
  std::mutex mu_;
  std::map<std::pair<uint64_t, uint64_t>, Entry> entries_;
};

struct ExploreRequest {
  const RecoveryPlan* plan = nullptr;
  ExploreOptions options;
  int jobs = 1;
  std::string scratch_dir;  // inside the run dir; the workers' directories go here
  std::string run_dir;      // for the removal guard
  bool keep_states = false;
  // 1: record each state's recovery, crash it too (every state the model
  // gives for it, at most nested_max_states), and recover again.
  int nested = 0;
  int64_t nested_max_states = 64;
  std::string reproduce_prefix;  // "aftershock replay R --scenario S --model M"
  // An interleaved recording (beside steps): "b3:" before every state id,
  // "restart ran beside ...: " before every violation's cause.
  std::string id_prefix;
  std::string cause_prefix;
  // Crash points at or before this seq are not explored (an interleaving:
  // up to its beside step's `step` mark it is the sequential recording).
  uint64_t skip_through_seq = 0;
};

// Explores and checks; fills everything of *out but `passed` and
// `expectation_failures`. Returns false with *error when the harness failed.
bool Explore(const ExploreRequest& request, VerdictCache* cache, Progress* progress,
             ModelResult* out, std::string* error);

// Adds the result of another recording of the same scenario under the same
// model (an interleaving) to *into: counts, groups, the duplicate rate.
void MergeModelResult(const ModelResult& part, ModelResult* into);

// Applies the scenario's expectations to one model's result.
void Judge(const Scenario& scenario, ModelResult* result);

}  // namespace aftershock
