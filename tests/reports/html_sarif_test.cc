// HTML and SARIF generation on hand-built reports, and report.json round trips.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"
#include "tests/reports/report_fixtures.h"

namespace aftershock {
namespace {

using nlohmann::json;
using testing_fixtures::SampleReport;

TEST(Html, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(Html, NamesTheLostMessageTheCulpritAndItsSourceLine) {
  std::string html = ReportToHtml(SampleReport("/src/queue/enqueue.cc", 88));
  EXPECT_NE(html.find("lost m1 to bob@remote"), std::string::npos);
  EXPECT_NE(html.find("op 2 (dropped)"), std::string::npos);
  EXPECT_NE(html.find("/src/queue/enqueue.cc:88 (refqueue::CreateIncoming)"), std::string::npos);
  EXPECT_NE(html.find("aftershock replay out/report.json"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

TEST(Html, ShowsTheCallStackInnermostFirstWithTheBlamedFrameAndWrappers) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  std::string html = ReportToHtml(r);
  size_t wrapper = html.find("/build/queue/fs.cc:38 (refqueue::CreateExclusive)");
  size_t blamed =
      html.find("/src/queue/enqueue.cc:88 (refqueue::CreateIncoming)</span> &#8592; blamed");
  size_t caller = html.find("/build/queue/refqueue+0x2200 (refqueue::Enqueue)");
  ASSERT_NE(wrapper, std::string::npos);
  ASSERT_NE(blamed, std::string::npos);
  ASSERT_NE(caller, std::string::npos);
  EXPECT_LT(wrapper, blamed);
  EXPECT_LT(blamed, caller);
  EXPECT_NE(html.find("(wrapper: skipped)", wrapper), std::string::npos);
  size_t marks = 0;
  for (size_t at = html.find("&#8592; blamed"); at != std::string::npos;
       at = html.find("&#8592; blamed", at + 1))
    ++marks;
  EXPECT_EQ(marks, 1u);
  EXPECT_NE(html.find("found by stack scan"), std::string::npos);
  // A call site without callers shows no stack.
  Culprit& c = r.scenarios[0].models[0].groups[0].evidence.culprit;
  c.stack.resize(1);
  c.frame = 0;
  html = ReportToHtml(r);
  EXPECT_EQ(html.find("Call stack:"), std::string::npos);
  EXPECT_EQ(html.find("&#8592; blamed"), std::string::npos);
}

TEST(Html, TextFromTheReportCannotInjectMarkup) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  r.scenarios[0].models[0].groups[0].evidence.root_cause = "<script>alert(1)</script>";
  r.scenarios[0].models[0].groups[0].evidence.timeline[0].args = "\"><img src=x onerror=alert(2)>";
  std::string html = ReportToHtml(r);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("refqueue bug variant &lt;no-dir-fsync&gt; &amp; friends"),
            std::string::npos);
}

TEST(Html, NeedsNoNetwork) {
  std::string html = ReportToHtml(SampleReport("/src/queue/enqueue.cc", 88));
  for (const char* ref : {"http://", "https://", "src=\"//", "@import"}) {
    size_t at = html.find(ref);
    // The only URL allowed is the SVG namespace, which is a name, not a fetch.
    while (at != std::string::npos && html.compare(at, 26, "http://www.w3.org/2000/svg") == 0)
      at = html.find(ref, at + 1);
    EXPECT_EQ(at, std::string::npos) << ref;
  }
}

TEST(Html, ChartHasOneBarPerCrashPoint) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  std::string svg = html_internal::CrashPointChart(r.scenarios[0].models[0], "g-0-0-");
  size_t bars = 0;
  for (size_t at = svg.find("<a href=\"#g-0-0-0\"><rect"); at != std::string::npos;
       at = svg.find("<a href=\"#g-0-0-0\"><rect", at + 1))
    ++bars;
  EXPECT_EQ(bars, 3u);
  EXPECT_NE(svg.find("crash before record 10: 1 lost state"), std::string::npos);
  ModelResult empty;
  EXPECT_EQ(html_internal::CrashPointChart(empty, "x"), "");
}

TEST(Sarif, OneResultPerFindingAtTheCulpritLineRelativeToTheSourceRoot) {
  json doc = json::parse(ReportToSarif(SampleReport("/src/queue/enqueue.cc", 88), {"/src"}));
  EXPECT_EQ(doc["version"], "2.1.0");
  const json& run = doc["runs"][0];
  ASSERT_EQ(run["results"].size(), 1u);
  const json& res = run["results"][0];
  EXPECT_EQ(res["ruleId"], "aftershock/lost");
  EXPECT_EQ(run["tool"]["driver"]["rules"][res["ruleIndex"].get<int>()]["id"], "aftershock/lost");
  EXPECT_EQ(res["level"], "warning");  // expected by the scenario
  const json& loc = res["locations"][0]["physicalLocation"];
  EXPECT_EQ(loc["artifactLocation"]["uri"], "queue/enqueue.cc");
  EXPECT_EQ(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
  EXPECT_EQ(loc["region"]["startLine"], 88);
  EXPECT_EQ(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///src/");
  EXPECT_NE(res["message"]["text"].get<std::string>().find("lost m1 to bob@remote: op 2"),
            std::string::npos);
  EXPECT_EQ(res["partialFingerprints"]["aftershockFinding/v1"].get<std::string>().size(), 16u);
}

TEST(Sarif, CallStackIsACodeFlowOutermostFirst) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  json doc = json::parse(ReportToSarif(r, {"/src"}));
  const json& res = doc["runs"][0]["results"][0];
  ASSERT_EQ(res["codeFlows"].size(), 1u);
  const json& locs = res["codeFlows"][0]["threadFlows"][0]["locations"];
  ASSERT_EQ(locs.size(), 3u);
  auto text = [&](size_t i) { return locs[i]["location"]["message"]["text"].get<std::string>(); };
  // Outermost first: Enqueue, then the blamed CreateIncoming, then the wrapper.
  EXPECT_EQ(text(0), "/build/queue/refqueue+0x2200 (refqueue::Enqueue)");
  EXPECT_FALSE(locs[0]["location"].contains("physicalLocation"));
  EXPECT_EQ(text(1), "/src/queue/enqueue.cc:88 (refqueue::CreateIncoming) (blamed)");
  const json& blamed = locs[1]["location"]["physicalLocation"];
  EXPECT_EQ(blamed["artifactLocation"]["uri"], "queue/enqueue.cc");
  EXPECT_EQ(blamed["artifactLocation"]["uriBaseId"], "SRCROOT");
  EXPECT_EQ(blamed["region"]["startLine"], 88);
  EXPECT_EQ(text(2).find("/build/queue/fs.cc:38 (refqueue::CreateExclusive)"), 0u);
  EXPECT_EQ(text(2).find("(blamed)"), std::string::npos);
  const json& wrapper = locs[2]["location"]["physicalLocation"];
  EXPECT_EQ(wrapper["artifactLocation"]["uri"], "file:///build/queue/fs.cc");
  EXPECT_EQ(wrapper["region"]["startLine"], 38);
  // A call site without callers makes no code flow.
  Culprit& c = r.scenarios[0].models[0].groups[0].evidence.culprit;
  c.stack.resize(1);
  c.frame = 0;
  EXPECT_FALSE(
      json::parse(ReportToSarif(r, {"/src"}))["runs"][0]["results"][0].contains("codeFlows"));
}

TEST(Sarif, UnexpectedViolationIsAnError) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  r.scenarios[0].models[0].groups[0].expected = false;
  json doc = json::parse(ReportToSarif(r, {"/src"}));
  EXPECT_EQ(doc["runs"][0]["results"][0]["level"], "error");
}

TEST(Sarif, FilesOutsideTheRootKeepAbsoluteUris) {
  bool relative = true;
  EXPECT_EQ(SarifUri("/other/a b.cc", "/src", &relative), "file:///other/a%20b.cc");
  EXPECT_FALSE(relative);
  EXPECT_EQ(SarifUri("/src/build/../queue/x.cc", "/src", &relative), "queue/x.cc");
  EXPECT_TRUE(relative);
}

TEST(Sarif, WithoutASourceLocationTheResultPointsAtTheScenario) {
  Report r = SampleReport("", 0);
  json doc = json::parse(ReportToSarif(r, {"/nonexistent-root"}));
  const json& loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
  EXPECT_FALSE(loc.contains("region"));
  EXPECT_NE(loc["artifactLocation"]["uri"].get<std::string>().find("bug-no-dir-fsync.toml"),
            std::string::npos);
}

TEST(ReportJson, EvidenceAndCountsSurviveARoundTrip) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  json j = ReportToJson(r);
  Report back;
  Status st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(ReportToJson(back).dump(), j.dump());
  EXPECT_EQ(ReportToHtml(back), ReportToHtml(r));
  EXPECT_EQ(ReportToSarif(back, {"/src"}), ReportToSarif(r, {"/src"}));
}

TEST(ReportJson, ReportsWithoutEvidenceStillRead) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  json j = ReportToJson(r);
  j["scenarios"][0]["models"][0]["groups"][0].erase("evidence");
  Report back;
  Status st = ReportFromJson(j, &back);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(back.scenarios[0].models[0].groups[0].evidence.present);
  EXPECT_NE(ReportToHtml(back).find("lost m1 -&gt; bob@remote"), std::string::npos);
}

TEST(Markdown, IsShortAndLinksToTheHtmlReport) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  ViolationGroup g = r.scenarios[0].models[0].groups[0];
  for (int i = 0; i < 20; ++i) r.scenarios[0].models[0].groups.push_back(g);
  std::string md = ReportToMarkdown(r);
  EXPECT_NE(md.find("[report.html](report.html)"), std::string::npos);
  EXPECT_NE(md.find("18 more in report.html"), std::string::npos);
  EXPECT_LT(md.size(), 4000u);
}

TEST(Inconclusive, IsANoteInSarifAndABadgeInHtml) {
  Report r = SampleReport("/src/queue/enqueue.cc", 88);
  ModelResult& m = r.scenarios[0].models[0];
  m.inconclusive = true;
  m.inconclusive_reasons = {"recorder gap: index: shared writable mapping"};
  json sarif = json::parse(ReportToSarif(r, {"/src"}));
  int notes = 0;
  for (const auto& result : sarif["runs"][0]["results"]) {
    if (result["ruleId"] != "aftershock/inconclusive") continue;
    ++notes;
    EXPECT_EQ(result["level"], "note");
    int index = result["ruleIndex"];
    EXPECT_EQ(sarif["runs"][0]["tool"]["driver"]["rules"][index]["id"], "aftershock/inconclusive");
    EXPECT_NE(result["message"]["text"].get<std::string>().find("recorder gap: index"),
              std::string::npos);
  }
  EXPECT_EQ(notes, 1);
  std::string html = ReportToHtml(r);
  EXPECT_NE(html.find("badge inconclusive"), std::string::npos);
  EXPECT_NE(html.find("recorder gap: index: shared writable mapping"), std::string::npos);
  m.inconclusive = false;
  EXPECT_EQ(ReportToHtml(r).find("badge inconclusive"), std::string::npos);
}

}  // namespace
}  // namespace aftershock
