// The fuzz command's parts: generated workloads stay inside their space, a
// written scenario loads back to the same scenario, durations parse.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "harness/fuzz.h"
#include "harness/fuzz_scenario.h"
#include "harness/workload_gen.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::ScratchDir;

WorkloadSpace Space(int max_steps) {
  WorkloadSpace space;
  space.rcpts = RcptsForDomains({"local", "remote"});
  space.max_steps = max_steps;
  return space;
}

RC_GTEST_PROP(WorkloadGen, WorkloadsHaveAnEnqueueAndAtMostMaxSteps, ()) {
  const int max_steps = *rc::gen::inRange(1, 9);
  WorkloadSpace space = Space(max_steps);
  std::vector<Step> steps = ToSteps(*GenWorkloads(space), space);
  RC_ASSERT(!steps.empty());
  RC_ASSERT(steps.size() <= static_cast<size_t>(max_steps));
  RC_ASSERT(std::any_of(steps.begin(), steps.end(),
                        [](const Step& s) { return s.kind == StepKind::kEnqueue; }));
  int next = 1;
  for (const Step& s : steps) {
    if (s.kind != StepKind::kEnqueue) continue;
    RC_ASSERT(s.id == "m" + std::to_string(next++));
    RC_ASSERT(!s.rcpts.empty());
    for (const auto& r : s.rcpts) {
      RC_ASSERT(std::count(space.rcpts.begin(), space.rcpts.end(), r) == 1);
    }
    RC_ASSERT(std::count(space.body_sizes.begin(), space.body_sizes.end(), s.body_size) == 1);
  }
}

TEST(WorkloadGen, RecipientsAlternateDomainsTwoUsersEach) {
  EXPECT_EQ(RcptsForDomains({"local", "remote"}),
            (std::vector<std::string>{"alice@local", "bob@remote", "carol@local", "dave@remote"}));
  EXPECT_EQ(RcptsForDomains({"a", "b", "c"}).size(), 6u);
}

TEST(WorkloadGen, DescriptionNamesEveryStep) {
  WorkloadSpace space = Space(6);
  GenWorkload w = {{StepKind::kEnqueue, 3, 4, 0}, {StepKind::kTick, 1, 0, 2}, {StepKind::kDeliver}};
  EXPECT_EQ(DescribeSteps(ToSteps(w, space)),
            "enqueue m1 -> alice@local bob@remote (513 B); tick 3601; deliver");
}

TEST(FuzzScenario, WrittenScenarioLoadsBackTheSame) {
  ScratchDir dir;
  std::string manifest = std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/refqueue.toml";
  Scenario s;
  s.name = "fuzz-refqueue-42";
  s.description = "found \"here\"";
  s.models = {"process", "posix"};
  s.strategy = "omit-one";
  s.seed = 42;
  s.max_states = 300;
  s.env = {{"REFQUEUE_BUG", "no-dir-fsync"}};
  WorkloadSpace space = Space(6);
  s.steps = ToSteps({{StepKind::kEnqueue, 5, 7, 0},
                     {StepKind::kRestart},
                     {StepKind::kTick, 1, 0, 4},
                     {StepKind::kEnqueue, 2, 0, 0},
                     {StepKind::kDeliver}},
                    space);
  s.expect.violation = "lost";
  s.expect.violation_models = {"posix"};
  std::string path = dir.Write(
      "s.toml", ScenarioToml(s, TargetPathFrom(dir.path(), manifest), "line one\nline two"));
  Scenario back;
  std::string error;
  ASSERT_TRUE(LoadScenario(path, &back, &error)) << error;
  EXPECT_EQ(back.name, s.name);
  EXPECT_EQ(back.description, s.description);
  EXPECT_EQ(back.target, manifest);
  EXPECT_EQ(back.models, s.models);
  EXPECT_EQ(back.strategy, s.strategy);
  EXPECT_EQ(back.seed, 42u);
  EXPECT_EQ(back.max_states, 300);
  EXPECT_EQ(back.env, s.env);
  ASSERT_EQ(back.steps.size(), s.steps.size());
  for (size_t i = 0; i < s.steps.size(); ++i) {
    EXPECT_EQ(back.steps[i].MarkData(), s.steps[i].MarkData());
    EXPECT_EQ(back.steps[i].rcpts, s.steps[i].rcpts);
    EXPECT_EQ(back.steps[i].body_size, s.steps[i].body_size);
  }
  EXPECT_EQ(back.expect.violation, "lost");
  EXPECT_EQ(back.expect.violation_models, s.expect.violation_models);
}

TEST(FuzzScenario, TargetIsRelativeOnlyBelowACommonFolder) {
  EXPECT_EQ(TargetPathFrom("/work/repo/out", "/work/repo/targets/q.toml"), "../targets/q.toml");
  EXPECT_EQ(TargetPathFrom("/tmp/out", "/work/repo/targets/q.toml"), "/work/repo/targets/q.toml");
}

TEST(FuzzScenario, QuotingEscapesWhatTomlNeeds) {
  EXPECT_EQ(TomlQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}

TEST(Fuzz, DurationsParseWithUnits) {
  double s = 0;
  EXPECT_TRUE(ParseDuration("60s", &s));
  EXPECT_EQ(s, 60);
  EXPECT_TRUE(ParseDuration("2m", &s));
  EXPECT_EQ(s, 120);
  EXPECT_TRUE(ParseDuration("1.5h", &s));
  EXPECT_EQ(s, 5400);
  EXPECT_TRUE(ParseDuration("90", &s));
  EXPECT_EQ(s, 90);
  EXPECT_FALSE(ParseDuration("soon", &s));
  EXPECT_FALSE(ParseDuration("5x", &s));
  EXPECT_FALSE(ParseDuration("-1s", &s));
  EXPECT_FALSE(ParseDuration("", &s));
}

}  // namespace
}  // namespace aftershock
