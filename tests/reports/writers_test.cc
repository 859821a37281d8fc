// The report writers: JSON round trip and schema, JUnit failures only for
// unexpected violations, the Markdown table, atomic writes.
#include "reports/writers.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace aftershock {
namespace {

namespace fs = std::filesystem;

Report Sample() {
  Report r;
  r.aftershock_version = "0.1.0";
  r.seed = 42;
  r.started_utc = "2026-11-29T19:00:00Z";
  ScenarioResult s;
  s.name = "fan<out>";
  s.file = "/s/fan.toml";
  s.target = "refqueue";
  ModelResult ok;
  ok.model = "process";
  ok.strategy = "omit-one";
  ok.states_explored = 10;
  ok.crash_points_pruned = 3;
  ok.states_unique = 8;
  ok.states_recovered = 8;
  ok.verdicts[static_cast<int>(Verdict::kOk)] = 7;
  ok.verdicts[static_cast<int>(Verdict::kDuplicate)] = 1;
  ok.duplicate_rate = 0.125;
  ok.groups.push_back({Verdict::kDuplicate, "crash during deliver", 1, "p9", "after op 9",
                       "duplicate m1 -> a@local x2", "aftershock replay r --state p9", false, {}});
  ModelResult bad = ok;
  bad.model = "posix";
  bad.passed = false;
  bad.expectation_failures = {"1 'lost' states (at most 0 expected)"};
  bad.verdicts[static_cast<int>(Verdict::kLost)] = 1;
  bad.groups.push_back({Verdict::kLost, "dropped fsync {root}/incoming", 1, "p5-d3", "after op 5",
                        "lost m1 -> a@local", "aftershock replay r --state p5-d3", false, {}});
  s.models = {ok, bad};
  r.scenarios.push_back(s);
  return r;
}

TEST(ReportJson, CarriesSchemaSeedAndVersion) {
  nlohmann::json j = ReportToJson(Sample());
  EXPECT_EQ(j["schema"], "aftershock-report");
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["aftershock_version"], "0.1.0");
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["scenarios"][0]["models"][1]["verdicts"]["lost"], 1);
}

TEST(ReportJson, RoundTripsThroughTheReader) {
  Report back;
  Status st = ReportFromJson(ReportToJson(Sample()), &back);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(back.scenarios.size(), 1u);
  ASSERT_EQ(back.scenarios[0].models.size(), 2u);
  const ModelResult& m = back.scenarios[0].models[1];
  EXPECT_EQ(m.model, "posix");
  ASSERT_EQ(m.groups.size(), 2u);
  EXPECT_EQ(m.groups[1].verdict, Verdict::kLost);
  EXPECT_EQ(m.groups[1].example_state, "p5-d3");
  EXPECT_EQ(m.crash_points_pruned, 3);
  EXPECT_EQ(back.seed, 42u);
}

TEST(ReportJson, OtherSchemaVersionIsRefused) {
  nlohmann::json j = ReportToJson(Sample());
  j["schema_version"] = kReportSchemaVersion + 1;
  Report back;
  Status st = ReportFromJson(j, &back);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("schema version"), std::string::npos);
}

TEST(Junit, OnlyUnexpectedViolationsFailAndCarryTheReproduction) {
  std::string xml = ReportToJunit(Sample());
  EXPECT_NE(xml.find("<testsuite name=\"fan&lt;out&gt;.process\" tests=\"1\" failures=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"fan&lt;out&gt;.posix\" tests=\"1\" failures=\"1\""),
            std::string::npos)
      << xml;
  // One testcase per finding; the allowed duplicate is none.
  EXPECT_NE(xml.find("<testsuite name=\"findings\" tests=\"1\" failures=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("reproduce: aftershock replay r --state p5-d3"), std::string::npos);
  EXPECT_NE(xml.find("<testsuites name=\"aftershock\" tests=\"3\" failures=\"2\""),
            std::string::npos);
}

TEST(Junit, ExpectedViolationIsNotAFailure) {
  Report r = Sample();
  ModelResult& m = r.scenarios[0].models[1];
  m.passed = true;
  m.expectation_failures.clear();
  m.groups[1].expected = true;
  EXPECT_EQ(ReportToJunit(r).find("<failure"), std::string::npos);
}

TEST(Markdown, TableHasARowPerScenarioAndModel) {
  std::string md = ReportToMarkdown(Sample());
  EXPECT_NE(md.find("| fan<out> | process | 10 | 8 | 0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| **FAIL** |"), std::string::npos);
  EXPECT_NE(md.find("`lost` x1: dropped fsync {root}/incoming"), std::string::npos);
  std::string table = SummaryTable(Sample());
  EXPECT_NE(table.find("dup-rate"), std::string::npos);
  EXPECT_NE(table.find("0.125"), std::string::npos);
}

// A recorder gap: the process result passes, but is marked unproven.
Report Inconclusive() {
  Report r = Sample();
  ModelResult& m = r.scenarios[0].models[0];
  m.inconclusive = true;
  m.inconclusive_reasons = {"recorder gap: index: shared writable mapping"};
  return r;
}

TEST(Inconclusive, RoundTripsThroughTheReaderAndOldReportsAreConclusive) {
  Report back;
  nlohmann::json j = ReportToJson(Inconclusive());
  EXPECT_EQ(j["scenarios"][0]["models"][0]["inconclusive"], true);
  EXPECT_EQ(j["scenarios"][0]["models"][1]["inconclusive"], false);
  Status st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(back.scenarios[0].models[0].inconclusive);
  EXPECT_EQ(back.scenarios[0].models[0].inconclusive_reasons,
            Inconclusive().scenarios[0].models[0].inconclusive_reasons);
  // Written before the field existed (same schema version): conclusive.
  j["scenarios"][0]["models"][0].erase("inconclusive");
  j["scenarios"][0]["models"][0].erase("inconclusive_reasons");
  st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(back.scenarios[0].models[0].inconclusive);
}

TEST(Normalized, CountAndKindsRoundTripAndOldReportsHaveNone) {
  Report r = Sample();
  r.scenarios[0].models[0].AddNormalized(2, {"trace header Return-Path", "mbox From_ line"});
  r.scenarios[0].models[0].AddNormalized(1, {"mbox From_ line"});
  nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["scenarios"][0]["models"][0]["normalized"], 3);
  EXPECT_EQ(j["scenarios"][0]["models"][0]["normalizations"],
            nlohmann::json::array({"mbox From_ line", "trace header Return-Path"}));
  Report back;
  Status st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(back.scenarios[0].models[0].states_normalized, 3);
  EXPECT_EQ(back.scenarios[0].models[0].normalizations.size(), 2u);
  j["scenarios"][0]["models"][0].erase("normalized");
  j["scenarios"][0]["models"][0].erase("normalizations");
  st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(back.scenarios[0].models[0].states_normalized, 0);
}

// Not proven is neither a pass nor a failure: JUnit skips it.
TEST(Inconclusive, IsSaidInJunitAsASkipNotAFailure) {
  std::string xml = ReportToJunit(Inconclusive());
  EXPECT_NE(xml.find("<testsuite name=\"fan&lt;out&gt;.process\" tests=\"1\" failures=\"0\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<property name=\"aftershock.inconclusive\" value=\"true\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<system-out>inconclusive: "), std::string::npos) << xml;
  EXPECT_NE(xml.find("recorder gap: index: shared writable mapping"), std::string::npos);
  const bool passed = Inconclusive().scenarios[0].models[0].passed;
  EXPECT_EQ(xml.find("<skipped message=\"not proven") != std::string::npos, passed) << xml;
  EXPECT_EQ(ReportToJunit(Sample()).find("inconclusive"), std::string::npos);
  EXPECT_EQ(ReportToJunit(Sample()).find("<skipped"), std::string::npos);
}

// docs/cli.md: 0 proven, 1 an expectation failed, 3 held but not proven.
TEST(Inconclusive, ExitStatusTellsNotProvenFromPassAndFail) {
  Report r = Inconclusive();
  for (auto& s : r.scenarios) {
    for (auto& m : s.models) m.passed = true;
  }
  EXPECT_EQ(ExitStatus(r), 3);
  r.scenarios[0].models[0].inconclusive = false;
  EXPECT_EQ(ExitStatus(r), 0);
  r.scenarios[0].models[1].inconclusive = true;
  r.scenarios[0].models[1].passed = false;
  EXPECT_EQ(ExitStatus(r), 1);
}

TEST(Inconclusive, IsSaidInTheMarkdownTable) {
  std::string md = ReportToMarkdown(Inconclusive());
  EXPECT_NE(md.find("| pass (inconclusive) |"), std::string::npos) << md;
  EXPECT_NE(md.find("- inconclusive (the recorder missed calls; no violation is not a proof): "
                    "recorder gap: index"),
            std::string::npos)
      << md;
  EXPECT_NE(SummaryTable(Inconclusive()).find("pass (inconclusive)"), std::string::npos);
  EXPECT_EQ(ReportToMarkdown(Sample()).find("inconclusive"), std::string::npos);
}

TEST(AtomicFile, WritesTheWholeFileAndLeavesNoTemporary) {
  char tmpl[] = "/dev/shm/aftershock-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Status st = WriteFileAtomically(dir + "/a.txt", "first");
  ASSERT_TRUE(st.ok()) << st.message();
  st = WriteFileAtomically(dir + "/a.txt", "second");
  ASSERT_TRUE(st.ok()) << st.message();
  std::ifstream in(dir + "/a.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "second");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  EXPECT_FALSE(WriteFileAtomically(dir + "/missing/a.txt", "x").ok());
  fs::remove_all(dir);
}

TEST(AtomicFile, WriteReportsCreatesAllThree) {
  char tmpl[] = "/dev/shm/aftershock-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Status st = WriteReports(Sample(), dir + "/out");
  ASSERT_TRUE(st.ok()) << st.message();
  for (const char* f : {"report.json", "junit.xml", "summary.md"}) {
    EXPECT_TRUE(fs::exists(dir + "/out/" + f)) << f;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aftershock
