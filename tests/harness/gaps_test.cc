// A recorder gap is a verdict-level signal (docs/report-format.md,
// "inconclusive"): a scenario x model whose recording has a gap the
// manifest does not list as rebuilt is marked inconclusive in every report,
// without failing the run (exit 3, "not proven"; JUnit: skipped); a listed
// gap is not.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::ReadText;
using testing::Aftershock;
using testing::RecordSupported;
using testing::RefqueueBuilt;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

const std::string kMapq = std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test/mapq.toml";

std::string Scenario(const ScratchDir& dir, const std::string& target, const std::string& extra) {
  return dir.Write("gap.toml", "target = \"" + target + "\"\nmodels = [\"process\"]\n" + extra + R"(
[[step]]
kind = "enqueue"
rcpts = ["alice@local"]
[[step]]
kind = "deliver"
)");
}

TEST(Gaps, UnlistedGapMakesThePassInconclusiveInEveryReport) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string out = dir.path() + "/out";
  Result r = Aftershock("run " + Scenario(dir, kMapq, "") + " --out " + out + " -q");
  EXPECT_EQ(r.status, 3) << r.output;  // unproven: neither passed nor failed
  nlohmann::json j = nlohmann::json::parse(ReadText(out + "/report.json"));
  const nlohmann::json& m = j["scenarios"][0]["models"][0];
  EXPECT_EQ(m["passed"], true);
  EXPECT_EQ(m["inconclusive"], true) << m.dump(1);
  ASSERT_FALSE(m["inconclusive_reasons"].empty());
  std::string why = m["inconclusive_reasons"][0];
  EXPECT_NE(why.find("recorder gap: index: mremap of a shared file mapping"), std::string::npos)
      << why;

  EXPECT_NE(ReadText(out + "/summary.md").find("| pass (inconclusive) |"), std::string::npos);
  std::string junit = ReadText(out + "/junit.xml");
  EXPECT_NE(junit.find("aftershock.inconclusive"), std::string::npos) << junit;
  EXPECT_EQ(junit.find("<failure"), std::string::npos) << junit;
  EXPECT_NE(junit.find("<skipped message=\"not proven"), std::string::npos) << junit;
  nlohmann::json sarif = nlohmann::json::parse(ReadText(out + "/results.sarif"));
  bool note = false;
  for (const auto& res : sarif["runs"][0]["results"]) {
    note |= res["ruleId"] == "aftershock/inconclusive" && res["level"] == "note";
  }
  EXPECT_TRUE(note) << sarif.dump(1);
  EXPECT_NE(ReadText(out + "/report.html").find("badge inconclusive"), std::string::npos);
}

TEST(Gaps, GapOnARebuiltFileIsConclusive) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  // The same target with `index` listed as rebuilt, beside the test's scenario.
  std::string manifest = ReadText(kMapq);
  for (size_t at; (at = manifest.find("{manifest_dir}")) != std::string::npos;) {
    manifest.replace(at, 14, std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test");
  }
  std::string target = dir.Write("mapq.toml", manifest + "\n[gaps]\nrebuilt = [\"index\"]\n");
  std::string out = dir.path() + "/out";
  Result r = Aftershock("run " + Scenario(dir, target, "") + " --out " + out + " -q");
  EXPECT_EQ(r.status, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(ReadText(out + "/report.json"));
  EXPECT_EQ(j["scenarios"][0]["models"][0]["inconclusive"], false) << j.dump(1);
  EXPECT_EQ(ReadText(out + "/summary.md").find("inconclusive"), std::string::npos);
}

TEST(Gaps, ExpectedViolationNotFoundStillFailsAndSaysTheResultIsUnproven) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string out = dir.path() + "/out";
  Result r = Aftershock("run " + Scenario(dir, kMapq, "[expect]\nviolation = \"lost\"\n") +
                        " --out " + out + " -q");
  EXPECT_EQ(r.status, 1) << r.output;
  nlohmann::json j = nlohmann::json::parse(ReadText(out + "/report.json"));
  const nlohmann::json& m = j["scenarios"][0]["models"][0];
  EXPECT_EQ(m["passed"], false);
  ASSERT_EQ(m["expectation_failures"].size(), 1u);
  EXPECT_NE(m["expectation_failures"][0].get<std::string>().find("inconclusive"), std::string::npos)
      << m.dump(1);
}

TEST(Gaps, GapInARecordedRecoveryMakesTheResultInconclusive) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  // Only the recovery maps the file: the workload's recording has no gap.
  std::string test_dir = std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test";
  std::string target = dir.Write("recover-maps.toml", R"(name = "recover-maps"
[commands]
init = "sh )" + test_dir + R"(/shellq.sh init && printf 'counter-0' > index"
enqueue = "sh )" + test_dir + R"(/shellq.sh enqueue"
deliver = "sh )" + test_dir + R"(/shellq.sh deliver"
recover = "sh )" + test_dir + R"(/shellq.sh recover && python3 )" +
                                                          test_dir +
                                                          R"(/map_shared.py index"
)");
  std::string out = dir.path() + "/out";
  Result r =
      Aftershock("run " + Scenario(dir, target, "max_states = 4\n") + " --out " + out + " -q");
  ASSERT_EQ(r.status, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(ReadText(out + "/report.json"));
  EXPECT_EQ(j["scenarios"][0]["models"][0]["inconclusive"], false) << j.dump(1);
  r = Aftershock("run " + Scenario(dir, target, "max_states = 4\n") + " --nested 1 --out " + out +
                 " -q");
  ASSERT_EQ(r.status, 3) << r.output;
  j = nlohmann::json::parse(ReadText(out + "/report.json"));
  const nlohmann::json& m = j["scenarios"][0]["models"][0];
  EXPECT_EQ(m["inconclusive"], true) << m.dump(1);
  ASSERT_FALSE(m["inconclusive_reasons"].empty());
  EXPECT_NE(m["inconclusive_reasons"][0].get<std::string>().find(
                "recorder gap in a recorded recovery: index: mremap of a shared file mapping"),
            std::string::npos)
      << m["inconclusive_reasons"].dump();
}

}  // namespace
}  // namespace aftershock
