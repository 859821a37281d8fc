// The fuzz command's parts: generated workloads stay inside their space, a
// written scenario loads back to the same scenario, durations parse.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "harness/fuzz/fuzz.h"
#include "harness/fuzz/fuzz_scenario.h"
#include "harness/fuzz/workload_gen.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::ReadText;
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

RC_GTEST_PROP(WorkloadGen, AtMostOneEnqueueHasABesideRestartOrDelivery, ()) {
  WorkloadSpace space = Space(*rc::gen::inRange(1, 9));
  space.beside_one_in = *rc::gen::inRange<uint32_t>(0, 4);
  std::vector<Step> steps = ToSteps(*GenWorkloads(space), space);
  int besides = 0;
  for (const Step& s : steps) {
    if (!s.beside) continue;
    ++besides;
    RC_ASSERT(space.beside_one_in > 0u);
    RC_ASSERT(s.kind == StepKind::kEnqueue);
    RC_ASSERT(s.beside->step.kind == StepKind::kRestart ||
              s.beside->step.kind == StepKind::kDeliver);
    RC_ASSERT(!s.beside->step.beside);
  }
  RC_ASSERT(besides <= 1);
}

TEST(WorkloadGen, BesideShrinksTowardNone) {
  WorkloadSpace space = Space(6);
  StepKind kind;
  GenStep g{StepKind::kEnqueue, 1, 0, 0};
  g.beside = 0;  // where RapidCheck's shrinking of the field ends
  EXPECT_FALSE(GenBesideKind(g, space, &kind));
  g.beside = 2 * space.beside_one_in - 2;
  ASSERT_TRUE(GenBesideKind(g, space, &kind));
  EXPECT_EQ(kind, StepKind::kRestart);
  g.beside = 2 * space.beside_one_in - 1;
  ASSERT_TRUE(GenBesideKind(g, space, &kind));
  EXPECT_EQ(kind, StepKind::kDeliver);
  g.kind = StepKind::kDeliver;
  EXPECT_FALSE(GenBesideKind(g, space, &kind));
}

TEST(WorkloadGen, OnlyTheFirstBesideStepIsKept) {
  WorkloadSpace space = Space(6);
  GenStep restart_beside{StepKind::kEnqueue, 1, 0, 0};
  restart_beside.beside = 2 * space.beside_one_in - 2;
  GenStep deliver_beside{StepKind::kEnqueue, 2, 0, 0};
  deliver_beside.beside = 2 * space.beside_one_in - 1;
  std::vector<Step> steps = ToSteps({restart_beside, deliver_beside}, space);
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_TRUE(steps[0].beside);
  EXPECT_EQ(steps[0].beside->step.kind, StepKind::kRestart);
  EXPECT_FALSE(steps[1].beside);
  EXPECT_EQ(DescribeSteps(steps),
            "enqueue m1 -> alice@local (0 B) [restart beside]; enqueue m2 -> bob@remote (0 B)");
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
  GenStep beside{StepKind::kEnqueue, 1, 2, 0};
  beside.beside = 2 * space.beside_one_in - 2;
  s.steps.push_back(ToSteps({beside}, space)[0]);
  s.steps.back().id = "m3";
  s.max_interleavings = 4;
  s.expect.violation = "lost";
  s.expect.violation_models = {"posix"};
  std::string path = dir.Write(
      "s.toml", ScenarioToml(s, TargetPathFrom(dir.path(), manifest), "line one\nline two"));
  Scenario back;
  Status st = LoadScenario(path, &back);
  ASSERT_TRUE(st.ok()) << st.message();
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
    ASSERT_EQ(!back.steps[i].beside, !s.steps[i].beside) << i;
    if (s.steps[i].beside) {
      EXPECT_EQ(back.steps[i].beside->step.MarkData(), s.steps[i].beside->step.MarkData());
      EXPECT_EQ(back.steps[i].beside->point, "*");
      EXPECT_TRUE(back.steps[i].beside->at.empty());
    }
  }
  EXPECT_EQ(back.max_interleavings, 4);
  EXPECT_NE(ReadText(path).find("\n[step.beside]\nkind = \"restart\"\n"), std::string::npos);
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
