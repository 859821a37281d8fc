// Fuzz target: the HTML, SARIF, JUnit XML, Markdown and JSON writers fed with
// hostile strings (control characters, quotes, </script>, invalid UTF-8, very
// long names) in every field a user's program or paths can reach. The input
// is cut at NUL bytes into those fields. Invariants: the writers do not
// throw; no string adds markup to HTML or XML (the number of '<' is that of
// the same report with harmless strings); XML has no control characters XML
// forbids; SARIF and report.json are valid JSON.
#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"
#include "tests/fuzz/fuzz_input.h"

using namespace aftershock;
using nlohmann::json;

namespace {

using Next = std::function<std::string()>;

Evidence MakeEvidence(const Next& s) {
  Evidence e;
  e.present = true;
  e.error = s();
  e.model = s();
  e.strategy = s();
  e.crash_seq = 3;
  e.trace_end = 5;
  e.dropped_seqs = {2};
  e.workload.push_back({1, 3, s(), s()});
  for (uint64_t seq = 1; seq <= 4; ++seq) {
    e.timeline.push_back({seq, 7, s(), s(), s(), s(),
                          seq == 2 ? uint32_t{kTimelineDropped | kTimelineCulprit} : 0u});
  }
  e.tree_before.push_back({s(), 'f', 12, 0644});
  e.tree_after.push_back({s(), 'l', 3, 0777});
  e.mail.push_back({s(), s(), s(), s()});
  Culprit& c = e.culprit;
  c.known = true;
  c.seq = 2;
  c.role = s();
  c.op = s();
  c.module = s();
  c.offset = 0x1a2b;
  c.file = s();
  c.line = 88;
  c.function = s();
  StackEntry caller;
  caller.module = s();
  caller.offset = 0x2b3c;
  caller.file = s();
  caller.line = 9;
  caller.function = s();
  c.stack = {StackEntry{}, caller};
  static_cast<CodeSite&>(c.stack[0]) = c;
  c.stack[0].wrapper = true;
  c.stack_method = s();
  e.root_cause = s();
  e.crash_points = {{1, 0}, {2, 1}, {3, 2}};
  return e;
}

Report MakeReport(const Next& s) {
  Report r;
  r.aftershock_version = s();
  r.started_utc = s();
  r.command_line = s();
  for (int si = 0; si < 2; ++si) {
    ScenarioResult sc;
    sc.name = s();
    sc.file = s();
    sc.description = s();
    sc.target = s();
    sc.target_file = s();
    sc.env = {{s(), s()}};
    sc.workload_notes = {s()};
    if (si == 1) sc.error = s();
    ModelResult m;
    m.model = s();
    m.strategy = s();
    m.states_explored = m.states_unique = 4;
    m.verdicts[static_cast<int>(Verdict::kLost)] = 1;
    m.expectation_failures = {s()};
    m.inconclusive = true;
    m.inconclusive_reasons = {s()};
    m.passed = false;
    for (Verdict v : {Verdict::kLost, Verdict::kDuplicate}) {
      ViolationGroup g;
      g.verdict = v;
      g.cause = s();
      g.count = 1;
      g.example_state = s();
      g.example_description = s();
      g.example_detail = s();
      g.reproduce = s();
      g.evidence = MakeEvidence(s);
      m.groups.push_back(std::move(g));
    }
    sc.models.push_back(std::move(m));
    r.scenarios.push_back(std::move(sc));
  }
  return r;
}

size_t Count(const std::string& text, char c) { return std::count(text.begin(), text.end(), c); }

void CheckXml(const std::string& xml, const std::string& harmless, const char* what) {
  if (Count(xml, '<') != Count(harmless, '<'))
    fuzz::Broken(std::string(what) + ": a string added markup");
  for (unsigned char c : xml) {
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      fuzz::Broken(std::string(what) + ": a control character XML forbids");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> fields = fuzz::Fields(data, size);
  size_t i = 0, k = 0;
  Report hostile = MakeReport([&] { return fields[i++ % fields.size()]; });
  // The same report with a harmless token for each distinct hostile string
  // (equal strings stay equal: the writers group and diff by value).
  std::map<std::string, std::string> tokens;
  Report harmless = MakeReport([&]() -> std::string {
    const std::string& f = fields[k++ % fields.size()];
    if (f.empty()) return "";
    return tokens.emplace(f, "x" + std::to_string(tokens.size())).first->second;
  });

  std::string html = ReportToHtml(hostile);
  std::string html0 = ReportToHtml(harmless);
  if (Count(html, '<') != Count(html0, '<')) fuzz::Broken("HTML: a string added markup");
  CheckXml(ReportToJunit(hostile), ReportToJunit(harmless), "JUnit");
  (void)ReportToMarkdown(hostile);
  (void)SummaryTable(hostile);
  if (!json::accept(ReportToSarif(hostile, SarifOptions{}))) fuzz::Broken("SARIF is not JSON");
  std::string text = ReportToJson(hostile).dump(2, ' ', false, json::error_handler_t::replace);
  Report back;
  Status st = ReportFromJson(json::parse(text), &back);
  if (!st.ok()) fuzz::Broken("report.json: " + st.message());
  return 0;
}
