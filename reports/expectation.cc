#include "reports/expectation.h"

#include <algorithm>
#include <cstdio>

#include "reports/report.h"

namespace aftershock {

bool Expectation::ViolationExpectedUnder(const std::string& model) const {
  if (violation.empty()) return false;
  return violation_models.empty() ||
         std::find(violation_models.begin(), violation_models.end(), model) !=
             violation_models.end();
}

namespace {

// The limits of a scenario that expects no violation under r's model.
void JudgeLimits(const Expectation& e, ModelResult* r) {
  auto limit = [&](Verdict v, int64_t max) {
    if (r->Count(v) > max) {
      r->expectation_failures.push_back(std::to_string(r->Count(v)) + " '" +
                                        std::string(VerdictName(v)) + "' states (at most " +
                                        std::to_string(max) + " expected)");
    }
  };
  limit(Verdict::kLost, e.max_lost);
  limit(Verdict::kCorrupt, e.max_corrupt);
  limit(Verdict::kPhantom, e.max_phantom);
  limit(Verdict::kRecoveryFailed, e.max_recovery_failed);
  if (r->duplicate_rate > e.max_duplicate_rate + 1e-12) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "duplicate rate %.3f above %.3f", r->duplicate_rate,
                  e.max_duplicate_rate);
    r->expectation_failures.push_back(buf);
  }
}

}  // namespace

void Judge(const Expectation& e, ModelResult* r) {
  r->expectation_failures.clear();
  if (e.ViolationExpectedUnder(r->model)) {
    std::optional<Verdict> v = ParseVerdict(e.violation);
    if (!v || r->Count(*v) == 0) {
      r->expectation_failures.push_back(
          "expected a '" + e.violation + "' state under this model; none found" +
          (r->inconclusive ? " (inconclusive: the recorder missed calls; see the gaps)" : ""));
    }
  } else {
    JudgeLimits(e, r);
  }
  for (auto& g : r->groups) {
    // Under a model that must expose the bug, its side effects are expected too.
    g.expected = e.ViolationExpectedUnder(r->model);
  }
  r->passed = r->expectation_failures.empty();
}

}  // namespace aftershock
