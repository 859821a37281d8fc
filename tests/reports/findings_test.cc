// Findings (reports/findings.h): one per root cause, however many groups,
// messages, queues, scenarios and models show it; fingerprints that do not
// depend on the machine, the folder or the line.
#include "reports/findings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

ViolationGroup Group(Verdict v, const std::string& cause, int64_t count, const std::string& file,
                     int line, const std::string& function, bool expected = false) {
  ViolationGroup g;
  g.verdict = v;
  g.cause = cause;
  g.count = count;
  g.example_state = "p" + std::to_string(count);
  g.expected = expected;
  g.reproduce = "aftershock replay report.json --state " + g.example_state;
  g.evidence.present = true;
  Culprit& c = g.evidence.culprit;
  c.known = !function.empty();
  c.file = file;
  c.line = line;
  c.function = function;
  c.role = "dropped";
  return g;
}

ModelResult Model(const std::string& name, std::vector<ViolationGroup> groups) {
  ModelResult m;
  m.model = name;
  m.groups = std::move(groups);
  return m;
}

ScenarioResult Scenario(const std::string& name, std::vector<ModelResult> models) {
  ScenarioResult s;
  s.name = name;
  s.models = std::move(models);
  return s;
}

// One missing fsync of the file, shown by a write and a chmod of the same
// message, and by each queue's copy (another path, the same helper).
Report OneBug(const std::string& src, int line) {
  const std::string fs = src + "/queue/fs.cc";
  Report r;
  r.scenarios.push_back(Scenario(
      "s1", {Model("posix",
                   {Group(Verdict::kLost, "dropped write {root}/queues/local/#.m#", 3, fs, line,
                          "q::WriteAll(int)"),
                    Group(Verdict::kLost, "dropped write {root}/queues/remote/#.m#", 2, fs, line,
                          "q::WriteAll(int)"),
                    Group(Verdict::kLost, "dropped chmod {root}/queues/local/#.m#", 1, fs,
                          line + 20, "q::Fchmod(int)"),
                    Group(Verdict::kDuplicate, "dropped unlink {root}/x", 4, fs, 9, "q::Unlink")}),
             Model("ext4-ordered", {Group(Verdict::kCorrupt, "dropped write {root}/queues/local/#.m#",
                                          1, fs, line, "q::WriteAll(int)")})}));
  return r;
}

TEST(Findings, OneMissingFsyncIsOneFindingAcrossGroupsPathsAndModels) {
  std::vector<Finding> f = FindFindings(OneBug("/src", 54));
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].places.size(), 4u);  // the duplicate group is allowed: no finding
  EXPECT_EQ(f[0].states, 3 + 2 + 1 + 1);
  EXPECT_EQ(f[0].verdict, Verdict::kLost);  // the worst it explains
  EXPECT_EQ(f[0].models, (std::vector<std::string>{"posix", "ext4-ordered"}));
  EXPECT_NE(f[0].title.find("no fsync of the file"), std::string::npos) << f[0].title;
  EXPECT_FALSE(f[0].expected);
  EXPECT_EQ(FindingsHeadline(f), "1 finding");
}

TEST(Findings, DifferentMissingStepsAndScenariosAreDifferentFindings) {
  Report r = OneBug("/src", 54);
  // A missing directory fsync in another scenario, at another call site.
  r.scenarios.push_back(Scenario(
      "s2", {Model("posix", {Group(Verdict::kLost, "dropped open {root}/incoming/#.m#", 1,
                                   "/src/queue/fs.cc", 38, "q::CreateExclusive", true)})}));
  // A crash window: three crash points of one phase are one finding.
  r.scenarios.push_back(Scenario(
      "s3", {Model("process",
                   {Group(Verdict::kLost, "crash during restart, after unlink {root}/incoming/#", 1,
                          "", 0, ""),
                    Group(Verdict::kLost, "crash during restart, after write {root}/queues/a/#", 2,
                          "", 0, ""),
                    Group(Verdict::kCorrupt, "crash during restart, after open {root}/queues/b/#",
                          1, "", 0, "")})}));
  std::vector<Finding> f = FindFindings(r);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].states, 7);  // unexpected first, then by states
  EXPECT_EQ(f[1].states, 4);
  EXPECT_NE(f[1].title.find("a crash during restart"), std::string::npos) << f[1].title;
  EXPECT_TRUE(f[2].expected);
  EXPECT_NE(f[2].title.find("no fsync of its directory"), std::string::npos) << f[2].title;
  EXPECT_EQ(FindingsHeadline(f), "3 findings (2 unexpected, 1 expected)");
}

TEST(Findings, FingerprintsDoNotDependOnTheFolderOrTheLine) {
  std::vector<Finding> here = FindFindings(OneBug("/src", 54));
  std::vector<Finding> there = FindFindings(OneBug("/home/ci/build-7/checkout", 61));
  ASSERT_EQ(here.size(), 1u);
  ASSERT_EQ(there.size(), 1u);
  EXPECT_EQ(here[0].fingerprint, there[0].fingerprint);
  EXPECT_EQ(here[0].fingerprint.size(), 16u);
  Report other = OneBug("/src", 54);
  other.scenarios[0].models[0].groups[0].cause = "dropped write {root}/spool/#";
  other.scenarios[0].models[0].groups[1].cause = "dropped write {root}/spool/#";
  other.scenarios[0].models[0].groups[2].cause = "dropped chmod {root}/spool/#";
  other.scenarios[0].models[1].groups[0].cause = "dropped write {root}/spool/#";
  EXPECT_NE(FindFindings(other)[0].fingerprint, here[0].fingerprint);
}

TEST(Findings, SarifHasOneResultPerFindingWithTheOthersAsRelatedLocations) {
  nlohmann::json doc = nlohmann::json::parse(ReportToSarif(OneBug("/src", 54), {"/src"}));
  const nlohmann::json& results = doc["runs"][0]["results"];
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["partialFingerprints"]["aftershockFinding/v1"],
            FindFindings(OneBug("/src", 54))[0].fingerprint);
  // The location is fs.cc:54; the chmod's fs.cc:74 is the one related
  // location (the other groups at fs.cc:54 are the same place).
  ASSERT_EQ(results[0]["relatedLocations"].size(), 1u) << results[0].dump(1);
  EXPECT_EQ(results[0]["relatedLocations"][0]["physicalLocation"]["region"]["startLine"], 74);
  EXPECT_EQ(results[0]["level"], "error");
}

TEST(Findings, JunitHasOneFailingTestcasePerUnexpectedFinding) {
  std::string xml = ReportToJunit(OneBug("/src", 54));
  EXPECT_NE(xml.find("<testsuite name=\"findings\" tests=\"1\" failures=\"1\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("fingerprint " + FindFindings(OneBug("/src", 54))[0].fingerprint),
            std::string::npos);
}

TEST(Findings, HtmlListsThemFirstAndDrawsAllowedDuplicatesNeutral) {
  std::string html = ReportToHtml(OneBug("/src", 54));
  size_t findings = html.find("<h2 id=\"findings\">1 finding</h2>");
  ASSERT_NE(findings, std::string::npos);
  EXPECT_LT(findings, html.find("<h2>Overview</h2>"));
  EXPECT_NE(html.find("data-fingerprint=\"" + FindFindings(OneBug("/src", 54))[0].fingerprint),
            std::string::npos);
  // The duplicate group (the fourth of posix): neutral, and no "Culprit".
  size_t dup = html.find("<section class=\"group allowed-group\" id=\"g-0-0-3\">");
  ASSERT_NE(dup, std::string::npos) << html;
  size_t end = html.find("</section>", dup);
  EXPECT_EQ(html.substr(dup, end - dup).find("Culprit"), std::string::npos);
}

TEST(Findings, ReportJsonCarriesThemAndTheReaderIgnoresThem) {
  nlohmann::json j = ReportToJson(OneBug("/src", 54));
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["states"], 7);
  EXPECT_EQ(j["findings"][0]["places"].size(), 4u);
  Report back;
  Status st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(FindFindings(back)[0].fingerprint, FindFindings(OneBug("/src", 54))[0].fingerprint);
}

TEST(Findings, CausesSplitAlongTheirGrammar) {
  CauseParts d = ParseCause("dropped rename {root}/incoming/#");
  EXPECT_EQ(d.kind, "dropped");
  EXPECT_EQ(d.call, "rename");
  EXPECT_EQ(d.path, "{root}/incoming/#");
  EXPECT_EQ(d.MissingStep(), "fsync of its directory");
  CauseParts c = ParseCause("crash during deliver, after write {root}/q/#");
  EXPECT_EQ(c.kind, "crash");
  EXPECT_EQ(c.phase, "deliver");
  EXPECT_EQ(c.call, "write");
  EXPECT_EQ(c.MissingStep(), "fsync of the file");
  CauseParts b = ParseCause(
      "restart ran beside step 1 (enqueue m1), paused before write incoming/1: no crash: the "
      "state the whole run left");
  EXPECT_EQ(b.beside, "restart ran beside step 1 (enqueue m1)");
  EXPECT_EQ(b.kind, "end");
  EXPECT_EQ(ParseCause("something new").kind, "other");
}

}  // namespace
}  // namespace aftershock
