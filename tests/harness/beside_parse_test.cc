// [step.beside]: a step run while another is paused before one of its calls.
#include <gtest/gtest.h>

#include "harness/explore/explorer.h"
#include "harness/explore/recorder.h"
#include "harness/target/scenario.h"
#include "tests/harness/test_util.h"

namespace aftershock::testing {
namespace {

constexpr char kHead[] = "target = \"m.toml\"\n[[step]]\nkind = \"enqueue\"\nrcpts = [\"a@b\"]\n";

std::string Error(const std::string& text) {
  ScratchDir dir;
  std::string path = dir.Write("s.toml", text);
  Scenario s;
  Status st = LoadScenario(path, &s);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind(path + ":", 0), 0u) << st.message();
  return st.message().substr(path.size());
}

TEST(Beside, BesideTableLoadsItsStepPointAndHits) {
  ScratchDir dir;
  std::string path =
      dir.Write("s.toml", std::string(kHead) +
                              "[step.beside]\nkind = \"enqueue\"\nrcpts = [\"c@d\"]\npoint = "
                              "\"posix/io/rw/write\"\nat = [2, 5]\n[[step]]\nkind = \"enqueue\"\n"
                              "rcpts = [\"e@f\"]\n[step.beside]\nkind = \"restart\"\n"
                              "[[step]]\nkind = \"deliver\"\n");
  Scenario s;
  Status st = LoadScenario(path, &s);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(s.steps.size(), 3u);
  ASSERT_TRUE(s.steps[0].beside);
  const Beside& b = *s.steps[0].beside;
  EXPECT_EQ(b.step.kind, StepKind::kEnqueue);
  // Ids in file order: the host, then its beside step, then the next.
  EXPECT_EQ(s.steps[0].id, "m1");
  EXPECT_EQ(b.step.id, "m2");
  EXPECT_EQ(s.steps[1].id, "m3");
  EXPECT_EQ(b.point, "posix/io/rw/write");
  EXPECT_EQ(b.at, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(b.where, path + ":5:1");
  ASSERT_TRUE(s.steps[1].beside);
  EXPECT_EQ(s.steps[1].beside->step.kind, StepKind::kRestart);
  EXPECT_EQ(s.steps[1].beside->point, "*");
  EXPECT_TRUE(s.steps[1].beside->at.empty());
  EXPECT_FALSE(s.steps[2].beside);
  EXPECT_EQ(s.max_interleavings, 64);
}

TEST(Beside, TickBesideIsAnErrorAtItsKind) {
  EXPECT_EQ(Error(std::string(kHead) + "[step.beside]\nkind = \"tick\"\nseconds = 5\n"),
            ":6:8: a beside step must be enqueue, deliver or restart (not tick)");
}

TEST(Beside, BesideOfATickIsAnError) {
  EXPECT_EQ(Error("target = \"m\"\n[[step]]\nkind = \"tick\"\nseconds = 3\n[step.beside]\nkind = "
                  "\"restart\"\n")
                .substr(0, 5),
            ":5:1:");
}

TEST(Beside, UnknownKeyInBesideIsAnErrorAtThatKey) {
  EXPECT_EQ(Error(std::string(kHead) + "[step.beside]\nkind = \"restart\"\nwhen = 3\n"),
            ":7:1: unknown key 'when'");
}

TEST(Beside, BesideOfABesideIsAnError) {
  EXPECT_EQ(Error(std::string(kHead) +
                  "[step.beside]\nkind = \"restart\"\n[step.beside.beside]\nkind = \"deliver\"\n")
                .find("unknown key 'beside'"),
            7u);
}

TEST(Beside, HitsMustBePositiveIntegersInOrder) {
  EXPECT_EQ(Error(std::string(kHead) + "[step.beside]\nkind = \"restart\"\nat = [0]\n"),
            ":7:7: 'at' values must be in [1, 1073741824]");
  EXPECT_EQ(Error(std::string(kHead) + "[step.beside]\nkind = \"restart\"\nat = [3, 2]\n"),
            ":7:6: 'at' must be increasing");
  EXPECT_EQ(Error(std::string(kHead) + "[step.beside]\nkind = \"restart\"\nat = [\"1\"]\n"),
            ":7:7: 'at' must hold integers only");
}

TEST(Beside, BadPointIsAnError) {
  EXPECT_EQ(Error(std::string(kHead) + "[step.beside]\nkind = \"restart\"\npoint = \"a b\"\n")
                .substr(0, 5),
            ":7:9:");
}

TEST(Beside, CountAndBesideExcludeEachOther) {
  EXPECT_NE(Error("target = \"m\"\n[[step]]\nkind = \"enqueue\"\nrcpts = [\"a@b\"]\ncount = "
                  "2\n[step.beside]\nkind = \"restart\"\n")
                .find("exclude"),
            std::string::npos);
}

TEST(Beside, BesideMessageIdMustBeUnique) {
  EXPECT_NE(Error("target = \"m\"\n[[step]]\nkind = \"enqueue\"\nid = \"x\"\nrcpts = "
                  "[\"a@b\"]\n[step.beside]\nkind = \"enqueue\"\nid = \"x\"\nrcpts = [\"a@b\"]\n")
                .find("used twice"),
            std::string::npos);
}

TEST(Beside, MaxInterleavingsMustBePositive) {
  EXPECT_EQ(
      Error("target = \"m\"\nmax_interleavings = 0\n[[step]]\nkind = \"deliver\"\n").substr(0, 6),
      ":2:21:");
}

TEST(Beside, StateIdPrefixesRoundTrip) {
  Scenario s;
  s.steps.resize(3);
  s.steps[1].beside = std::make_shared<Beside>();
  s.steps[2].beside = std::make_shared<Beside>();
  EXPECT_EQ(InterleavingPrefix(s, {1, 3}), "b3:");
  EXPECT_EQ(InterleavingPrefix(s, {2, 12}), "s3b12:");
  Interleaving il;
  std::string rest;
  ASSERT_TRUE(ParseInterleavingId(s, "b3:p41", &il, &rest));
  EXPECT_EQ(il.step, 1u);
  EXPECT_EQ(il.hit, 3);
  EXPECT_EQ(rest, "p41");
  ASSERT_TRUE(ParseInterleavingId(s, "s3b12:p7-d2/p1", &il, &rest));
  EXPECT_EQ(il.step, 2u);
  EXPECT_EQ(il.hit, 12);
  EXPECT_EQ(rest, "p7-d2/p1");
  EXPECT_FALSE(ParseInterleavingId(s, "p41", &il, &rest));
  EXPECT_FALSE(ParseInterleavingId(s, "s1b3:p41", &il, &rest));  // step 1 has no beside
  EXPECT_FALSE(ParseInterleavingId(s, "s2b3:p41", &il, &rest));  // it is spelled b3:
  EXPECT_FALSE(ParseInterleavingId(s, "b0:p41", &il, &rest));
}

ModelResult Part(int64_t unique, int64_t lost, double duplicate_rate, const std::string& cause) {
  ModelResult r;
  r.model = "posix";
  r.states_explored = unique * 2;
  r.states_unique = unique;
  r.states_recovered = unique / 2;
  r.verdicts[static_cast<int>(Verdict::kLost)] = lost;
  r.verdicts[static_cast<int>(Verdict::kOk)] = unique - lost;
  r.duplicate_rate = duplicate_rate;
  if (lost > 0) {
    ViolationGroup g;
    g.verdict = Verdict::kLost;
    g.cause = cause;
    g.count = lost;
    r.groups.push_back(g);
  }
  return r;
}

TEST(Beside, InterleavingResultsAddUpWithTheSequentialOne) {
  ModelResult all = Part(100, 0, 0.1, "");
  all.inconclusive_reasons = {"gap a"};
  ModelResult b3 = Part(50, 2, 0.2, "restart ran beside step 1 (enqueue m1), paused before x: y");
  b3.inconclusive_reasons = {"gap a", "gap b"};
  b3.truncated = true;
  MergeModelResult(b3, &all);
  EXPECT_EQ(all.model, "posix");
  EXPECT_EQ(all.states_explored, 300);
  EXPECT_EQ(all.states_unique, 150);
  EXPECT_EQ(all.states_recovered, 75);
  EXPECT_EQ(all.Count(Verdict::kLost), 2);
  EXPECT_EQ(all.Count(Verdict::kOk), 148);
  EXPECT_NEAR(all.duplicate_rate, (10.0 + 10.0) / 150.0, 1e-9);
  ASSERT_EQ(all.groups.size(), 1u);
  EXPECT_EQ(all.groups[0].cause.rfind("restart ran beside", 0), 0u);
  EXPECT_TRUE(all.truncated);
  EXPECT_EQ(all.inconclusive_reasons, (std::vector<std::string>{"gap a", "gap b"}));
  EXPECT_TRUE(all.inconclusive);
}

}  // namespace
}  // namespace aftershock::testing
