// `aftershock fuzz` end to end on the reference queue: bug variants are found
// from nothing, shrunk to a few steps and written as scenarios that
// `aftershock run` reproduces; the correct queue yields nothing; the same
// seed gives the same result; bad input exits 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using testing::ReadText;
using testing::Aftershock;
using testing::RecordSupported;
using testing::RefqueueBuilt;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

// A seed whose search meets a restart beside an enqueue within its cases.
constexpr const char* kStaleSeed = "1";

std::string Refqueue() { return std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/refqueue.toml"; }

int CountOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Fuzzes refqueue with `bug` under `model` (seed fixed, cases bounded; the
// budget is only a backstop) and returns the scenario written.
std::string FuzzFinds(const ScratchDir& dir, const std::string& bug, const std::string& model,
                      const std::string& seed) {
  Result r = Aftershock("fuzz --target " + Refqueue() + " --env REFQUEUE_BUG=" + bug + " --model " +
                        model + " --seed " + seed + " --max-cases 40 --budget 120s -j 2 --out " +
                        dir.path() + "/out");
  EXPECT_EQ(r.status, 1) << r.output;
  std::string file = dir.path() + "/out/fuzz-refqueue-" + seed + ".toml";
  EXPECT_TRUE(fs::exists(file)) << r.output;
  EXPECT_TRUE(fs::exists(dir.path() + "/out/report.json")) << r.output;
  EXPECT_NE(r.output.find("seed " + seed), std::string::npos) << r.output;
  return file;
}

// The written scenario expects the violation; `aftershock run` on it shows it.
void RunReproduces(const ScratchDir& dir, const std::string& file, const std::string& model) {
  std::string text = ReadText(file);
  EXPECT_LE(CountOf(text, "[[step]]"), 3) << text;
  EXPECT_GE(CountOf(text, "[[step]]"), 1) << text;
  EXPECT_NE(text.find("violation = \"lost\""), std::string::npos) << text;
  Result r = Aftershock("run " + file + " -j 2 --out " + dir.path() + "/rerun");
  EXPECT_EQ(r.status, 0) << r.output;  // the expected violation showed
  auto report = nlohmann::json::parse(ReadText(dir.path() + "/rerun/report.json"));
  int64_t lost = 0;
  for (const auto& m : report["scenarios"][0]["models"]) {
    if (m["model"] == model) lost = m["verdicts"]["lost"].get<int64_t>();
  }
  EXPECT_GT(lost, 0) << r.output;
}

TEST(Fuzz, FindsDoneBeforeDeliveryAndShrinksIt) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir dir;
  std::string file = FuzzFinds(dir, "done-before-delivery", "process", "11");
  RunReproduces(dir, file, "process");
  // A delivery is needed to lose a copy handed over too late.
  EXPECT_NE(ReadText(file).find("kind = \"deliver\""), std::string::npos);
}

TEST(Fuzz, FindsWorkfileUnlinkFirstAndShrinksIt) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir dir;
  std::string file = FuzzFinds(dir, "workfile-unlink-first", "process", "12");
  RunReproduces(dir, file, "process");
}

TEST(Fuzz, FindsNoDirFsyncAndShrinksItToOneEnqueue) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir dir;
  std::string file = FuzzFinds(dir, "no-dir-fsync", "posix", "13");
  RunReproduces(dir, file, "posix");
  EXPECT_EQ(CountOf(ReadText(file), "[[step]]"), 1) << ReadText(file);
}

// Only a restart beside an enqueue exposes it: the generator must offer
// beside steps, and shrinking must keep the one that matters.
TEST(Fuzz, FindsStaleIgnoresAgeWithARestartBesideAnEnqueue) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir dir;
  const std::string seed = kStaleSeed;
  Result r = Aftershock("fuzz --target " + Refqueue() +
                        " --env REFQUEUE_BUG=stale-ignores-age --model process --seed " + seed +
                        " --max-cases 60 --budget 120s -j 2 --out " + dir.path() + "/out");
  EXPECT_EQ(r.status, 1) << r.output;
  std::string file = dir.path() + "/out/fuzz-refqueue-" + seed + ".toml";
  ASSERT_TRUE(fs::exists(file)) << r.output;
  std::string text = ReadText(file);
  EXPECT_LE(CountOf(text, "[[step]]"), 2) << text;
  EXPECT_NE(text.find("[step.beside]\nkind = \"restart\""), std::string::npos) << text;
  RunReproduces(dir, file, "process");
}

// no-dir-fsync needs no beside step: seed 8 (a beside step on every other
// enqueue) first fails with a restart beside an enqueue, and shrinking
// removes it.
TEST(Fuzz, ShrinkingRemovesABesideStepTheViolationDoesNotNeed) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir dir;
  Result r = Aftershock("fuzz --target " + Refqueue() +
                        " --env REFQUEUE_BUG=no-dir-fsync --model posix --beside-one-in 2 --seed 8 "
                        "--max-cases 40 --budget 120s -j 2 -v --out " +
                        dir.path() + "/out");
  EXPECT_EQ(r.status, 1) << r.output;
  size_t first = r.output.find("case lost: ");
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_NE(r.output.substr(first, r.output.find('\n', first) - first).find(" beside]"),
            std::string::npos)
      << r.output;
  std::string text = ReadText(dir.path() + "/out/fuzz-refqueue-8.toml");
  EXPECT_EQ(text.find("[step.beside]"), std::string::npos) << text;
  EXPECT_EQ(CountOf(text, "[[step]]"), 1) << text;
}

TEST(Fuzz, SameSeedGivesTheSameScenario) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir a, b;
  std::string fa = FuzzFinds(a, "no-dir-fsync", "posix", "5");
  std::string fb = FuzzFinds(b, "no-dir-fsync", "posix", "5");
  auto body = [](const std::string& file) {
    // The comment names the file's own path; the rest must be equal.
    std::string text = ReadText(file);
    return text.substr(text.find("\nname = "));
  };
  EXPECT_EQ(body(fa), body(fb));
}

TEST(Fuzz, CorrectQueueShowsNothingInAFewWorkloads) {
  ScratchDir dir;
  Result r = Aftershock("fuzz --target " + Refqueue() +
                        " --seed 3 --max-cases 3 --max-steps 4 --budget 120s -j 2 --out " +
                        dir.path() + "/out");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("no violation found in 3 workloads"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/out/fuzz-refqueue-3.toml"));
}

TEST(Fuzz, ASpentBudgetEndsTheSearchWithoutAViolation) {
  ScratchDir dir;
  Result r = Aftershock("fuzz --target " + Refqueue() + " --seed 3 --budget 0s --out " +
                        dir.path() + "/out");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("no violation found in 0 workloads"), std::string::npos) << r.output;
}

TEST(Fuzz, BadInputExitsTwo) {
  ScratchDir dir;
  std::string out = " --out " + dir.path() + "/out";
  EXPECT_EQ(Aftershock("fuzz --target " + Refqueue() + " --budget soon" + out).status, 2);
  EXPECT_EQ(Aftershock("fuzz --target " + Refqueue() + " --model ext3" + out).status, 2);
  EXPECT_EQ(Aftershock("fuzz --target " + Refqueue() + " --env NOEQUALS" + out).status, 2);
  EXPECT_EQ(Aftershock("fuzz --target " + Refqueue() + " --domains 'a b'" + out).status, 2);
  EXPECT_EQ(Aftershock("fuzz --target " + dir.path() + "/missing.toml" + out).status, 2);
  Result bad =
      Aftershock("fuzz --target " + dir.Write("bad.toml", "name = \"x\"\nbogus = 1\n") + out);
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("bad.toml:"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/out"));
}

}  // namespace
}  // namespace aftershock
