#include "harness/explore/explorer.h"

#include <xxhash.h>

#include <cassert>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <thread>

#include "harness/explore/evidence.h"
#include "reports/merge.h"

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
  // Additive, so that shards add up: the model's states, then the nested ones.
  out->states_explored = totals.generated + totals.nested;
  out->crash_points_pruned = totals.pruned;
  assert(out->states_explored >= totals.explored);
  out->states_digest = totals.digest;
  // Every unique state got exactly one verdict (unproven ones none).
  int64_t verdicts = 0;
  for (int64_t n : out->verdicts) verdicts += n;
  assert(verdicts == out->states_unique);
  (void)verdicts;
  int64_t explored = totals.explored;
  out->duplicate_rate = explored ? static_cast<double>(tally.with_duplicate()) / explored : 0.0;
  std::sort(out->groups.begin(), out->groups.end(), GroupPrecedes);
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

void MergeModelResult(const ModelResult& part, ModelResult* into) {
  uint64_t digests[2] = {into->states_digest, part.states_digest};
  AddModelResult(part, into);
  into->states_digest = XXH3_64bits(digests, sizeof digests);
  std::sort(into->groups.begin(), into->groups.end(), GroupPrecedes);
}

void Judge(const Scenario& s, ModelResult* r) { Judge(s.expect, r); }

}  // namespace aftershock
