// The strategies: which selections (dropped and torn units) to build at a
// crash point.
#include <algorithm>
#include <functional>
#include <random>
#include <set>

#include "model/crash_states.h"

namespace aftershock {

void CrashStateGenerator::PlanSelections() {
  const size_t n = window_.size();
  if (options_.strategy == Strategy::kRandom) {
    auto it = draws_.find(candidate_index_ - 1);
    if (it == draws_.end()) return;
    for (uint64_t draw : it->second) PlanRandom(draw);
    return;
  }
  planned_.push_back(Selection{std::vector<bool>(n, false), {}});
  if (options_.strategy == Strategy::kOmitOne) PlanOmitOne();
  if (options_.strategy == Strategy::kExhaustive) PlanExhaustive();
}

void CrashStateGenerator::PlanOmitOne() {
  const size_t n = window_.size();
  for (size_t i = 0; i < n; ++i) {
    if (window_.at(i).status != UnitStatus::kPending) continue;
    planned_.push_back(Selection{window_.DropClosure({i}), {}});
  }
  for (size_t i = 0; i < n; ++i) {
    const Unit& u = window_.at(i);
    if (u.status != UnitStatus::kPending || !u.Tearable()) continue;
    for (auto& kept : TornVariants(u.sectors, false)) {
      planned_.push_back(Selection{std::vector<bool>(n, false), {{i, std::move(kept)}}});
    }
  }
}

void CrashStateGenerator::PlanRandom(uint64_t draw) {
  std::mt19937_64 rng(options_.seed ^ ((draw + 1) * 0x9E3779B97F4A7C15ull));
  const size_t n = window_.size();
  std::vector<size_t> roots;
  for (size_t i = 0; i < n; ++i) {
    if (window_.at(i).status == UnitStatus::kPending && (rng() & 1) != 0) roots.push_back(i);
  }
  Selection sel{window_.DropClosure(roots), {}};
  for (size_t i = 0; i < n; ++i) {
    const Unit& u = window_.at(i);
    if (u.status != UnitStatus::kPending || sel.dropped[i] || !u.Tearable()) continue;
    if (rng() % 4 != 0) continue;
    std::vector<uint32_t> kept;
    if (u.sectors <= 64) {
      for (uint32_t s = 0; s < u.sectors; ++s) {
        if ((rng() & 1) != 0) kept.push_back(s);
      }
    }
    if (kept.empty() || kept.size() == u.sectors) {
      auto variants = TornVariants(u.sectors, false);
      kept = variants[rng() % variants.size()];
    }
    sel.torn.emplace_back(i, std::move(kept));
  }
  planned_.push_back(std::move(sel));
}

void CrashStateGenerator::PlanExhaustive() {
  // Selections by growing number of deviations (a dropped or torn unit),
  // so that a bound keeps the simplest ones: omit-one first, then pairs, ...
  std::vector<size_t> pending;
  for (size_t i = 0; i < window_.size(); ++i) {
    if (window_.at(i).status == UnitStatus::kPending) pending.push_back(i);
  }
  std::vector<std::vector<std::vector<uint32_t>>> torn_options(pending.size());
  for (size_t k = 0; k < pending.size(); ++k) {
    const Unit& u = window_.at(pending[k]);
    if (u.Tearable()) torn_options[k] = TornVariants(u.sectors, true);
  }
  std::set<std::pair<std::vector<bool>, std::vector<std::pair<size_t, std::vector<uint32_t>>>>>
      planned_keys;
  planned_keys.emplace(planned_.front().dropped, planned_.front().torn);
  const uint64_t bound = std::max<uint64_t>(options_.exhaustive_bound, 1);
  uint64_t steps = 0;
  const uint64_t max_steps = bound * 64;
  bool cut = false;
  std::vector<size_t> roots;
  std::vector<std::pair<size_t, std::vector<uint32_t>>> torn;
  // Chooses `left` more deviations among pending[from..].
  std::function<void(size_t, size_t)> choose = [&](size_t from, size_t left) {
    if (cut) return;
    if (left == 0) {
      if (++steps > max_steps || planned_.size() >= bound) {
        cut = true;
        return;
      }
      Selection sel{window_.DropClosure(roots), torn};
      for (const auto& [i, kept] : sel.torn) {
        if (sel.dropped[i]) return;  // dropped by closure: another selection covers it
      }
      if (planned_keys.emplace(sel.dropped, sel.torn).second) planned_.push_back(std::move(sel));
      return;
    }
    for (size_t k = from; k + left <= pending.size() && !cut; ++k) {
      roots.push_back(pending[k]);
      choose(k + 1, left - 1);
      roots.pop_back();
      for (const auto& kept : torn_options[k]) {
        torn.emplace_back(pending[k], kept);
        choose(k + 1, left - 1);
        torn.pop_back();
        if (cut) break;
      }
    }
  };
  for (size_t r = 1; r <= pending.size() && !cut; ++r) choose(0, r);
  if (cut) ++stats_.truncated_points;
}

}  // namespace aftershock
