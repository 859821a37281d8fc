// The checker's verdicts (DESIGN.md, "The checker's verdicts").
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace aftershock {

// Ordered by severity: when a state shows several findings, its verdict is
// the most severe one (the largest value).
enum class Verdict {
  kOk = 0,
  kUnackedDelivered,
  kDuplicate,
  kPhantom,
  kCorrupt,
  kLost,
  kRecoveryFailed,
};
inline constexpr int kVerdictCount = 7;

inline constexpr std::array<std::string_view, kVerdictCount> kVerdictNames = {
    "ok", "unacked-delivered", "duplicate", "phantom", "corrupt", "lost", "recovery-failed"};

inline std::string_view VerdictName(Verdict v) { return kVerdictNames[static_cast<int>(v)]; }

inline std::optional<Verdict> ParseVerdict(std::string_view name) {
  for (int i = 0; i < kVerdictCount; ++i) {
    if (kVerdictNames[i] == name) return static_cast<Verdict>(i);
  }
  return std::nullopt;
}

// Returns true iff the verdict breaks the promise (DESIGN.md: "allowed? no").
inline bool IsViolation(Verdict v) {
  return v == Verdict::kLost || v == Verdict::kCorrupt || v == Verdict::kPhantom ||
         v == Verdict::kRecoveryFailed;
}

}  // namespace aftershock
