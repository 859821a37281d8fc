// Shards (harness/explore/shard.h) and their merge (reports/merge.h), without
// running a target: which shard the flags and the engines' variables choose,
// that the shards partition the states, and what the merge joins or refuses.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "harness/explore/shard.h"
#include "reports/merge.h"

namespace aftershock {
namespace {

// A getenv over `vars`.
EnvLookup Env(std::map<std::string, std::string> vars) {
  auto held = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [held](const char* name) -> const char* {
    auto it = held->find(name);
    return it == held->end() ? nullptr : it->second.c_str();
  };
}

ShardSpec Chosen(const std::string& flag, int count, std::map<std::string, std::string> vars) {
  ShardSpec s;
  Status st = ChooseShard(flag, count, Env(std::move(vars)), &s);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

std::string Refusal(const std::string& flag, int count, std::map<std::string, std::string> vars) {
  ShardSpec s;
  Status st = ChooseShard(flag, count, Env(std::move(vars)), &s);
  EXPECT_FALSE(st.ok());
  return st.message();
}

TEST(ChooseShard, TheFlagComesFirst) {
  ShardSpec s = Chosen("2/4", 0, {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "8"}});
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.source, "--shard");
}

TEST(ChooseShard, NoFlagNoEngineIsTheWholeRun) {
  EXPECT_FALSE(Chosen("", 0, {}).Active());
}

TEST(ChooseShard, KubernetesIndexIsZeroBasedWithTheCountGiven) {
  ShardSpec s = Chosen("", 4, {{"JOB_COMPLETION_INDEX", "0"}});
  EXPECT_EQ(s.Label(), "1/4");
  EXPECT_EQ(s.source, "JOB_COMPLETION_INDEX");
  EXPECT_EQ(Chosen("", 4, {{"JOB_COMPLETION_INDEX", "3"}}).index, 4);
  EXPECT_NE(Refusal("", 0, {{"JOB_COMPLETION_INDEX", "1"}}).find("--shard-count"),
            std::string::npos);
  EXPECT_NE(Refusal("", 4, {{"JOB_COMPLETION_INDEX", "4"}}).find("JOB_COMPLETION_INDEX"),
            std::string::npos);
}

TEST(ChooseShard, SlurmArraysFromOneOrFromZero) {
  std::map<std::string, std::string> one = {
      {"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}};
  EXPECT_EQ(Chosen("", 0, one).Label(), "3/4");
  std::map<std::string, std::string> zero = {
      {"SLURM_ARRAY_TASK_ID", "0"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "0"}};
  EXPECT_EQ(Chosen("", 0, zero).Label(), "1/4");
  EXPECT_EQ(Chosen("", 0, zero).source, "SLURM_ARRAY_TASK_ID");
  std::map<std::string, std::string> outside = {
      {"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "1"}};
  EXPECT_NE(Refusal("", 0, outside).find("contiguous"), std::string::npos);
}

TEST(ChooseShard, GitLabParallel) {
  ShardSpec s = Chosen("", 0, {{"CI_NODE_INDEX", "2"}, {"CI_NODE_TOTAL", "3"}});
  EXPECT_EQ(s.Label(), "2/3");
  EXPECT_EQ(s.source, "CI_NODE_INDEX");
}

TEST(ChooseShard, BadFlagsNameThemselves) {
  for (const char* bad : {"0/4", "5/4", "2", "a/b", "2/0", "/4", "2/", "1/4x", "-1/4"}) {
    EXPECT_NE(Refusal(bad, 0, {}).find(std::string("'") + bad + "'"), std::string::npos) << bad;
  }
  EXPECT_NE(Refusal("1/2", 4, {}).find("--shard-count"), std::string::npos);
  EXPECT_NE(Refusal("", 4, {}).find("JOB_COMPLETION_INDEX"), std::string::npos);
}

TEST(ShardTakes, EveryStateFallsToExactlyOneShard) {
  for (int n : {1, 2, 3, 4, 7}) {
    std::vector<int> per(n, 0);
    for (uint64_t h = 0; h < 2000; ++h) {
      std::string key = "p" + std::to_string(h / 7) + "-d" + std::to_string(h % 7);
      int takers = 0;
      for (int k = 1; k <= n; ++k) {
        if (ShardTakes({k, n, "--shard"}, key)) {
          ++takers;
          ++per[k - 1];
        }
      }
      ASSERT_EQ(takers, 1) << n;
    }
    // About the same share each (2000 / n, within a third).
    for (int c : per) EXPECT_GT(c, 2000 / n * 2 / 3) << n;
  }
  EXPECT_TRUE(ShardTakes({}, "p1"));
}

TEST(ShardSeed, ShardsSearchDisjointSeeds) {
  std::set<uint64_t> seeds;
  for (int k = 1; k <= 8; ++k) seeds.insert(ShardSeed(42, {k, 8, "--shard"}));
  EXPECT_EQ(seeds.size(), 8u);
  EXPECT_EQ(ShardSeed(42, {1, 8, "--shard"}), 42u);
  EXPECT_EQ(ShardSeed(42, {}), 42u);
}

// One shard's report of a scenario with one model and one lost group.
ShardReport Shard(int k, int n, int64_t lost, uint64_t example_seq, const std::string& example) {
  ShardReport s;
  s.dir = "out-" + std::to_string(k);
  Report& r = s.report;
  r.aftershock_version = "1";
  r.seed = 7;
  r.shard = {k, n, "--shard"};
  ScenarioResult sr;
  sr.name = "s";
  sr.expect.violation = "lost";
  ModelResult m;
  m.model = "posix";
  m.states_digest = 99;
  m.states_unique = lost + 10;
  m.verdicts[static_cast<int>(Verdict::kOk)] = 10;
  m.verdicts[static_cast<int>(Verdict::kLost)] = lost;
  if (lost > 0) {
    ViolationGroup g;
    g.verdict = Verdict::kLost;
    g.cause = "dropped rename";
    g.count = lost;
    g.example_state = example;
    g.example_crash_seq = example_seq;
    g.evidence.crash_points = {{example_seq, lost}};
    m.groups.push_back(g);
  }
  m.passed = lost > 0;
  sr.models.push_back(m);
  r.scenarios.push_back(sr);
  return s;
}

TEST(MergeShards, SumsJoinsGroupsAndJudgesAgain) {
  // Shard 2 found nothing: alone it fails "expected a lost state"; merged,
  // the run holds. The example is the earliest state of either shard.
  Report merged;
  Status st = MergeShards({Shard(2, 3, 0, 0, ""), Shard(1, 3, 2, 30, "p30"), Shard(3, 3, 1, 12, "p12")},
                          &merged);
  ASSERT_TRUE(st.ok()) << st.message();
  const ModelResult& m = merged.scenarios[0].models[0];
  EXPECT_EQ(m.Count(Verdict::kLost), 3);
  EXPECT_EQ(m.Count(Verdict::kOk), 30);
  EXPECT_EQ(m.states_unique, 33);
  ASSERT_EQ(m.groups.size(), 1u);
  EXPECT_EQ(m.groups[0].count, 3);
  EXPECT_EQ(m.groups[0].example_state, "p12");
  EXPECT_EQ(m.groups[0].evidence.crash_points,
            (std::vector<std::pair<uint64_t, int64_t>>{{12, 1}, {30, 2}}));
  EXPECT_TRUE(m.passed);
  EXPECT_TRUE(m.groups[0].expected);
  EXPECT_EQ(merged.merged_shards, 3);
  EXPECT_FALSE(merged.shard.Active());
}

TEST(MergeShards, RefusesWhatIsNotOneRun) {
  Report out;
  auto refusal = [&out](std::vector<ShardReport> shards) {
    Status st = MergeShards(shards, &out);
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.message().find('\n'), std::string::npos) << st.message();
    return st.message();
  };
  EXPECT_NE(refusal({Shard(1, 2, 1, 3, "p3")}).find("shard 2 of 2 missing"), std::string::npos);
  EXPECT_NE(refusal({Shard(1, 2, 1, 3, "p3"), Shard(1, 2, 1, 3, "p3")}).find("both shard 1/2"),
            std::string::npos);
  EXPECT_NE(refusal({Shard(1, 2, 1, 3, "p3"), Shard(2, 3, 1, 3, "p3")}).find("different runs"),
            std::string::npos);
  ShardReport other_seed = Shard(2, 2, 1, 3, "p3");
  other_seed.report.seed = 8;
  EXPECT_NE(refusal({Shard(1, 2, 1, 3, "p3"), other_seed}).find("seed 7 vs 8"), std::string::npos);
  ShardReport other_states = Shard(2, 2, 1, 3, "p3");
  other_states.report.scenarios[0].models[0].states_digest = 100;
  EXPECT_NE(refusal({Shard(1, 2, 1, 3, "p3"), other_states}).find("other crash states"),
            std::string::npos);
  ShardReport whole = Shard(2, 2, 1, 3, "p3");
  whole.report.shard = {};
  EXPECT_NE(refusal({Shard(1, 2, 1, 3, "p3"), whole}).find("not a shard"), std::string::npos);
}

}  // namespace
}  // namespace aftershock
