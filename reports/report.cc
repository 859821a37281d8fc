#include "reports/report.h"

namespace aftershock {

bool ScenarioResult::Passed() const {
  if (!error.empty()) return false;
  for (const auto& m : models) {
    if (!m.passed) return false;
  }
  return true;
}

int ExitStatus(const Report& r) {
  if (!r.Passed()) return 1;
  return r.Proven() ? 0 : kExitNotProven;
}

bool Report::Proven() const {
  for (const auto& s : scenarios) {
    for (const auto& m : s.models) {
      if (m.inconclusive) return false;
    }
  }
  return true;
}

bool Report::Passed() const {
  for (const auto& s : scenarios) {
    if (!s.Passed()) return false;
  }
  return true;
}

}  // namespace aftershock
