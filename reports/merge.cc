#include "reports/merge.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>

namespace aftershock {
namespace {

// The shards sorted by index, each index 1..N exactly once.
Status CheckIndices(const std::vector<ShardReport>& shards, std::vector<const ShardReport*>* sorted) {
  if (shards.empty()) return Status::Error("no shard given");
  for (const ShardReport& s : shards) {
    if (!s.report.shard.Active()) {
      return Status::Error(s.dir + " is not a shard's output (its report.json has no \"shard\"; " +
                           (s.report.merged_shards > 0 ? "it is a merge" : "run with --shard K/N") +
                           ")");
    }
    sorted->push_back(&s);
  }
  std::stable_sort(sorted->begin(), sorted->end(), [](const ShardReport* a, const ShardReport* b) {
    return a->report.shard.index < b->report.shard.index;
  });
  const ShardReport& first = *sorted->front();
  const int count = first.report.shard.count;
  for (size_t i = 0; i < sorted->size(); ++i) {
    const ShardReport& s = *(*sorted)[i];
    if (s.report.shard.count != count) {
      return Status::Error(s.dir + " is shard " + s.report.shard.Label() + " but " + first.dir +
                           " is shard " + first.report.shard.Label() +
                           ": shards of different runs");
    }
    if (i > 0 && (*sorted)[i - 1]->report.shard.index == s.report.shard.index) {
      return Status::Error((*sorted)[i - 1]->dir + " and " + s.dir + " are both shard " +
                           s.report.shard.Label());
    }
  }
  std::vector<int> missing;
  size_t at = 0;
  for (int k = 1; k <= count; ++k) {
    if (at < sorted->size() && (*sorted)[at]->report.shard.index == k) {
      ++at;
    } else {
      missing.push_back(k);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (int k : missing) list += (list.empty() ? "" : ", ") + std::to_string(k);
    return Status::Error("shard" + std::string(missing.size() > 1 ? "s " : " ") + list + " of " +
                         std::to_string(count) + " missing: every shard's --out is needed");
  }
  return Status::Ok();
}

// Why scenario `a` (of shard `ad`) and `b` are not of one run, or "".
std::string ScenarioDifference(const ScenarioResult& a, const ScenarioResult& b) {
  if (a.name != b.name) return "scenario " + a.name + " vs " + b.name;
  const std::string at = "scenario " + a.name + ": ";
  // Paths may differ (each runner has its checkout where it likes); the
  // crash states, compared below, may not.
  if (a.target != b.target) return at + "target " + a.target + " vs " + b.target;
  if (a.seed != b.seed) return at + "seed " + std::to_string(a.seed) + " vs " + std::to_string(b.seed);
  if (a.env != b.env) return at + "another environment (--env)";
  if (a.expect != b.expect) return at + "other expectations";
  if (a.models.size() != b.models.size()) return at + "other models";
  for (size_t m = 0; m < a.models.size(); ++m) {
    const ModelResult& x = a.models[m];
    const ModelResult& y = b.models[m];
    if (x.model != y.model || x.strategy != y.strategy) {
      return at + "model " + x.model + "/" + x.strategy + " vs " + y.model + "/" + y.strategy;
    }
    if (x.states_digest != y.states_digest) {
      return at + "under " + x.model + " the recording gave other crash states (digest " +
             Hex64(x.states_digest) + " vs " + Hex64(y.states_digest) +
             "): the target does not behave the same in every run, or the shards ran other code";
    }
  }
  return "";
}

Status CheckSameRun(const ShardReport& first, const ShardReport& s) {
  const Report& a = first.report;
  const Report& b = s.report;
  std::string why;
  if (a.aftershock_version != b.aftershock_version) {
    why = "aftershock " + a.aftershock_version + " vs " + b.aftershock_version;
  } else if (a.seed != b.seed) {
    why = "seed " + std::to_string(a.seed) + " vs " + std::to_string(b.seed);
  } else if (a.scenarios.size() != b.scenarios.size()) {
    why = std::to_string(a.scenarios.size()) + " scenarios vs " + std::to_string(b.scenarios.size());
  } else {
    for (size_t i = 0; i < a.scenarios.size() && why.empty(); ++i) {
      why = ScenarioDifference(a.scenarios[i], b.scenarios[i]);
    }
  }
  if (why.empty()) return Status::Ok();
  return Status::Error(s.dir + " and " + first.dir + " are shards of different runs: " + why);
}

void AddUnique(const std::vector<std::string>& from, std::vector<std::string>* into) {
  for (const std::string& x : from) {
    if (std::find(into->begin(), into->end(), x) == into->end()) into->push_back(x);
  }
}

// The recording a group's states come from: "b3" of "b3:p12-d4" (an
// interleaving), "" for the sequential recording. A run keeps the groups of
// each recording apart, even when two interleavings read alike.
std::string RecordingOf(const ViolationGroup& g) {
  size_t colon = g.example_state.find(':');
  return colon == std::string::npos ? "" : g.example_state.substr(0, colon);
}

// Every violating state's crash point of two parts of a group: (seq, states),
// ascending.
std::vector<std::pair<uint64_t, int64_t>> SumPoints(
    const std::vector<std::pair<uint64_t, int64_t>>& a,
    const std::vector<std::pair<uint64_t, int64_t>>& b) {
  std::map<uint64_t, int64_t> sum;
  for (const auto& [seq, n] : a) sum[seq] += n;
  for (const auto& [seq, n] : b) sum[seq] += n;
  return {sum.begin(), sum.end()};
}

// Adds `g` to the groups of `into`: one group per recording, verdict and
// cause, its example the earliest state.
void MergeGroup(const ViolationGroup& g, std::vector<ViolationGroup>* into) {
  for (ViolationGroup& have : *into) {
    if (have.verdict != g.verdict || have.cause != g.cause || RecordingOf(have) != RecordingOf(g)) {
      continue;
    }
    int64_t count = have.count + g.count;
    auto points = SumPoints(have.evidence.crash_points, g.evidence.crash_points);
    if (StatePrecedes(g.example_crash_seq, g.example_state, have.example_crash_seq,
                      have.example_state)) {
      have = g;
    }
    have.count = count;
    have.evidence.crash_points = std::move(points);
    return;
  }
  into->push_back(g);
}

int64_t WithDuplicate(const ModelResult& r) {
  return static_cast<int64_t>(std::llround(r.duplicate_rate * static_cast<double>(r.states_unique)));
}

}  // namespace

void AddModelResult(const ModelResult& part, ModelResult* into) {
  int64_t with_duplicate = WithDuplicate(*into) + WithDuplicate(part);
  into->states_explored += part.states_explored;
  into->crash_points_pruned += part.crash_points_pruned;
  into->states_unique += part.states_unique;
  into->states_recovered += part.states_recovered;
  into->states_unproven += part.states_unproven;
  into->AddNormalized(part.states_normalized, part.normalizations);
  for (size_t v = 0; v < into->verdicts.size(); ++v) into->verdicts[v] += part.verdicts[v];
  into->duplicate_rate = into->states_unique > 0 ? static_cast<double>(with_duplicate) /
                                                       static_cast<double>(into->states_unique)
                                                 : 0.0;
  for (const ViolationGroup& g : part.groups) MergeGroup(g, &into->groups);
  into->seconds += part.seconds;
  into->truncated = into->truncated || part.truncated;
  AddUnique(part.inconclusive_reasons, &into->inconclusive_reasons);
  into->inconclusive = !into->inconclusive_reasons.empty();
}

namespace {

// Judges the merged counts and orders the groups as one run does.
void Finish(const Expectation& expect, ModelResult* r) {
  std::sort(r->groups.begin(), r->groups.end(), GroupPrecedes);
  Judge(expect, r);
}

}  // namespace

Status MergeShards(const std::vector<ShardReport>& shards, Report* out) {
  std::vector<const ShardReport*> sorted;
  if (Status st = CheckIndices(shards, &sorted); !st.ok()) return st;
  for (const ShardReport* s : sorted) {
    if (Status st = CheckSameRun(*sorted.front(), *s); !st.ok()) return st;
  }
  Report merged = sorted.front()->report;
  merged.shard = ShardSpec{};
  merged.merged_shards = static_cast<int>(sorted.size());
  for (size_t k = 1; k < sorted.size(); ++k) {
    const Report& part = sorted[k]->report;
    merged.started_utc = std::min(merged.started_utc, part.started_utc);
    merged.seconds = std::max(merged.seconds, part.seconds);
    for (size_t i = 0; i < merged.scenarios.size(); ++i) {
      ScenarioResult& into = merged.scenarios[i];
      const ScenarioResult& from = part.scenarios[i];
      if (into.error.empty()) into.error = from.error;
      AddUnique(from.workload_notes, &into.workload_notes);
      assert(into.models.size() == from.models.size());
      for (size_t m = 0; m < into.models.size(); ++m) AddModelResult(from.models[m], &into.models[m]);
    }
  }
  for (ScenarioResult& s : merged.scenarios) {
    for (ModelResult& m : s.models) Finish(s.expect, &m);
  }
  *out = std::move(merged);
  return Status::Ok();
}

std::string ReproduceFrom(const std::string& reproduce, const std::string& report_path) {
  const std::string head = "aftershock replay ";
  size_t end = reproduce.find(" --scenario ");
  if (reproduce.rfind(head, 0) != 0 || end == std::string::npos) return reproduce;
  return head + report_path + reproduce.substr(end);
}

}  // namespace aftershock
