#include "harness/explore/explorer.h"

#include <xxhash.h>

#include <cassert>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <thread>

#include "harness/explore/evidence.h"

namespace aftershock {
namespace {

// Tallies the checked states of one walk into a ModelResult.
class Tally {
 public:
  Tally(const ExploreRequest& req, EvidenceCollector* evidence, ModelResult* out)
      : req_(req), evidence_(evidence), out_(out) {}
  void Add(const CheckedState& c);
  int64_t with_duplicate() const { return with_duplicate_; }

 private:
  // Makes `state` the example of group `g`.
  void SetExample(ViolationGroup* g, const CrashStateRef& state, const std::string& detail) const;

  const ExploreRequest& req_;
  EvidenceCollector* evidence_;
  ModelResult* out_;
  std::map<std::pair<Verdict, std::string>, size_t> group_index_;
  int64_t with_duplicate_ = 0;
};

void Tally::SetExample(ViolationGroup* g, const CrashStateRef& state,
                       const std::string& detail) const {
  g->example_state = state.id;
  g->example_description = state.description;
  g->example_detail = detail;
  g->example_crash_seq = state.crash_seq;
  g->example_hash = state.hash;
  std::string dir = state.id;
  std::replace(dir.begin(), dir.end(), '/', '_');
  g->reproduce =
      req_.reproduce_prefix + " --state " + state.id + " --into aftershock-replay-" + dir;
}

void Tally::Add(const CheckedState& c) {
  const CrashStateRef& state = *c.state;
  const VerdictCache::Entry& entry = c.entry;
  ++out_->verdicts[static_cast<int>(entry.verdict)];
  ++out_->states_unique;
  if (!c.cached) ++out_->states_recovered;
  if (entry.has_duplicate) ++with_duplicate_;
  if (!entry.normalized.empty()) out_->AddNormalized(1, entry.normalized);
  if (entry.verdict == Verdict::kOk || entry.verdict == Verdict::kUnackedDelivered) return;
  auto [it, inserted] =
      group_index_.emplace(std::make_pair(entry.verdict, c.cause), out_->groups.size());
  if (inserted) {
    ViolationGroup g;
    g.verdict = entry.verdict;
    g.cause = c.cause;
    SetExample(&g, state, entry.detail);
    out_->groups.push_back(g);
  }
  ViolationGroup& group = out_->groups[it->second];
  // Workers finish in any order: the example is the earliest state of the
  // group (by crash point, then id), so one seed gives one report.
  if (!inserted &&
      StatePrecedes(state.crash_seq, state.id, group.example_crash_seq, group.example_state)) {
    SetExample(&group, state, entry.detail);
  }
  ++group.count;
  evidence_->Note(it->second, state, c.outer);
}

}  // namespace

Status Explore(const PipelineContext& ctx, const ExploreRequest& req, VerdictCache* cache,
               ModelResult* out) {
  auto start = std::chrono::steady_clock::now();
  const WalkRequest& walk = req.walk;
  out->model = walk.options.model;
  out->strategy = walk.options.strategy;
  EvidenceCollector evidence(&walk.recording->plan, walk.scratch_dir + "/evidence", ctx.run_dir,
                             walk.options.model, walk.options.strategy);
  Tally tally(req, &evidence, out);
  WalkTotals totals;
  auto visit = [&tally](const CheckedState& c) {
    tally.Add(c);
    return true;
  };
  if (Status st = Walk(ctx, walk, cache, visit, &totals); !st.ok()) return st;
  for (const auto& g :
       std::set<std::string>(totals.recovery_gaps.begin(), totals.recovery_gaps.end())) {
    out->inconclusive_reasons.push_back("recorder gap in a recorded recovery: " + g);
  }
  out->states_unproven += totals.unproven;
  for (const auto& r : totals.unproven_reasons) {
    auto& reasons = out->inconclusive_reasons;
    if (std::find(reasons.begin(), reasons.end(), r) == reasons.end()) reasons.push_back(r);
  }
  out->inconclusive = !out->inconclusive_reasons.empty();
  out->truncated = out->truncated || totals.truncated;
  evidence.Fill(&out->groups);
  out->states_explored = std::max(totals.generated, totals.explored);
  // Every unique state got exactly one verdict (unproven ones none).
  int64_t verdicts = 0;
  for (int64_t n : out->verdicts) verdicts += n;
  assert(verdicts == out->states_unique);
  (void)verdicts;
  int64_t explored = totals.explored;
  out->duplicate_rate = explored ? static_cast<double>(tally.with_duplicate()) / explored : 0.0;
  std::sort(out->groups.begin(), out->groups.end(),
            [](const ViolationGroup& a, const ViolationGroup& b) {
              if (a.verdict != b.verdict) return a.verdict > b.verdict;
              if (a.count != b.count) return a.count > b.count;
              return a.cause < b.cause;
            });
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

void MergeModelResult(const ModelResult& part, ModelResult* into) {
  auto duplicates = [](const ModelResult& r) {
    return static_cast<int64_t>(
        std::llround(r.duplicate_rate * static_cast<double>(r.states_unique)));
  };
  int64_t with_duplicate = duplicates(*into) + duplicates(part);
  into->states_explored += part.states_explored;
  into->states_unique += part.states_unique;
  into->states_recovered += part.states_recovered;
  into->states_unproven += part.states_unproven;
  into->AddNormalized(part.states_normalized, part.normalizations);
  for (size_t v = 0; v < into->verdicts.size(); ++v) into->verdicts[v] += part.verdicts[v];
  into->duplicate_rate = into->states_unique > 0 ? static_cast<double>(with_duplicate) /
                                                       static_cast<double>(into->states_unique)
                                                 : 0.0;
  for (const ViolationGroup& g : part.groups) into->groups.push_back(g);
  std::stable_sort(into->groups.begin(), into->groups.end(),
                   [](const ViolationGroup& a, const ViolationGroup& b) {
                     if (a.verdict != b.verdict) return a.verdict > b.verdict;
                     return a.count > b.count;
                   });
  into->seconds += part.seconds;
  into->truncated = into->truncated || part.truncated;
  for (const std::string& r : part.inconclusive_reasons) {
    if (std::find(into->inconclusive_reasons.begin(), into->inconclusive_reasons.end(), r) ==
        into->inconclusive_reasons.end()) {
      into->inconclusive_reasons.push_back(r);
    }
  }
  into->inconclusive = !into->inconclusive_reasons.empty();
}

void Judge(const Scenario& s, ModelResult* r) {
  const Expectation& e = s.expect;
  r->expectation_failures.clear();
  if (e.ViolationExpectedUnder(r->model)) {
    Verdict v = *ParseVerdict(e.violation);
    if (r->Count(v) == 0) {
      r->expectation_failures.push_back(
          "expected a '" + e.violation + "' state under this model; none found" +
          (r->inconclusive ? " (inconclusive: the recorder missed calls; see the gaps)" : ""));
    }
  } else {
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
  for (auto& g : r->groups) {
    // Under a model that must expose the bug, its side effects are expected too.
    g.expected = e.ViolationExpectedUnder(r->model);
  }
  r->passed = r->expectation_failures.empty();
}

}  // namespace aftershock
