#include "reports/report.h"

#include <algorithm>
#include <cstdio>

namespace aftershock {

void ModelResult::AddNormalized(int64_t states, const std::vector<std::string>& kinds) {
  states_normalized += states;
  for (const auto& k : kinds) {
    auto at = std::lower_bound(normalizations.begin(), normalizations.end(), k);
    if (at == normalizations.end() || *at != k) normalizations.insert(at, k);
  }
}

bool ScenarioResult::Passed() const {
  if (!error.empty()) return false;
  for (const auto& m : models) {
    if (!m.passed) return false;
  }
  return true;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool GroupPrecedes(const ViolationGroup& a, const ViolationGroup& b) {
  if (a.verdict != b.verdict) return a.verdict > b.verdict;
  if (a.count != b.count) return a.count > b.count;
  if (a.cause != b.cause) return a.cause < b.cause;
  return a.example_state < b.example_state;
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
