// What a scenario expects of its results ([expect], docs/scenarios.md), and
// the judgement of one scenario x model against it. It lives with the
// report so that a report judges itself again: `aftershock merge` sums the
// shards' counts, then judges the sum.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aftershock {

struct ModelResult;

struct Expectation {
  int64_t max_lost = 0;
  int64_t max_corrupt = 0;
  int64_t max_phantom = 0;
  int64_t max_recovery_failed = 0;
  double max_duplicate_rate = 1.0;
  std::string violation;                      // a verdict name, "" = none expected
  std::vector<std::string> violation_models;  // where it must show; empty = every model
  bool ViolationExpectedUnder(const std::string& model) const;
  bool operator==(const Expectation&) const = default;
};

// Sets r->passed, r->expectation_failures and each group's `expected` from
// r's counts.
void Judge(const Expectation& e, ModelResult* r);

}  // namespace aftershock
