// What a run tells whoever watches it. The pipeline and the runner call
// these; only the command layer implements them (a progress line on a
// terminal, nothing in quiet CI mode), so library code never prints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "reports/report.h"

namespace aftershock {

class RunObserver {
 public:
  virtual ~RunObserver() = default;

  // Before the first scenario.
  virtual void RunStarted(size_t /*scenarios*/, uint64_t /*seed*/, int /*jobs*/,
                          const std::string& /*kept_dir*/) {}
  // One recording explored under one model; `seq_total` is how far the
  // crash points go, for an estimate of the time left.
  virtual void ExplorationStarted(const std::string& /*label*/, uint64_t /*seq_total*/) {}
  // Thread-safe: called by the workers once per checked state.
  virtual void StateChecked(uint64_t /*crash_seq*/, bool /*violation*/) {}
  virtual void ExplorationFinished() {}
  // Something a person should read now ("fidelity: ..."), and notes that
  // only a verbose run shows (workload steps that did not exit 0).
  virtual void Warning(const std::string& /*scenario*/, const std::string& /*what*/) {}
  virtual void Notes(const std::string& /*scenario*/, const std::vector<std::string>& /*notes*/) {}
  virtual void InterleavingsFound(const std::string& /*scenario*/, size_t /*count*/) {}
  // A scenario's model judged against its expectations.
  virtual void ModelJudged(const std::string& /*scenario*/, const ModelResult& /*result*/) {}
};

// The observer of a run nobody watches.
inline RunObserver* SilentObserver() {
  static RunObserver silent;
  return &silent;
}

}  // namespace aftershock
