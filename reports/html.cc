#include "reports/html.h"

#include "reports/findings.h"

#include <cstdio>
#include <set>
#include <vector>

namespace aftershock {
namespace {

using html_internal::CrashPointChart;
using html_internal::GroupSection;

const char kStyle[] = R"css(
:root{--ok:#2e7d32;--bad:#c62828;--warn:#ef6c00;--mute:#6b7280;--line:#e5e7eb;--bg:#f9fafb}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111827;background:#fff}
header{padding:16px 24px;border-bottom:1px solid var(--line);background:var(--bg)}
header h1{margin:0 0 4px;font-size:20px}
main{padding:8px 24px 48px;max-width:1300px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
h4{font-size:13px;margin:14px 0 4px;text-transform:uppercase;letter-spacing:.04em;color:var(--mute)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--bg);border:1px solid var(--line);padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:4px 0 8px}
th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta span{margin-right:18px;color:var(--mute)}
.meta b{color:#111827;font-weight:600}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600;color:#fff}
.pass{background:var(--ok)}.fail{background:var(--bad)}.expected{background:var(--mute)}.inconclusive{background:#a16207}
.cell-pass{background:#f0fdf4}.cell-fail{background:#fef2f2}
.counts span{display:inline-block;margin-right:6px;white-space:nowrap}
.group{border:1px solid var(--line);border-left:5px solid var(--bad);padding:8px 14px;margin:12px 0;border-radius:4px}
.group.expected-group{border-left-color:var(--mute)}
.group.allowed-group{border-left-color:var(--line)}
.allowed-group .cause,.allowed-group .culprit{background:var(--bg);border-color:var(--line)}
.finding{margin:6px 0}
.cause{font-size:15px;background:#fff7ed;border:1px solid #fed7aa;padding:8px 10px;border-radius:4px}
.culprit{background:#fef2f2;border:1px solid #fecaca;padding:8px 10px;border-radius:4px;margin-top:6px}
.site{color:#1d4ed8}
tr.crash td{border-top:3px solid var(--bad)}
tr.dropped td,tr.torn td{background:#fee2e2}
tr.culprit td{background:#fecaca;font-weight:600}
tr.ack td{background:#ecfdf5}
tr.step td{background:#eff6ff}
tr.sink td{background:#f5f3ff}
tr.synced td{background:#fef9c3}
tr.after td{color:#9ca3af}
tr.gap td{color:var(--mute);text-align:center;font-style:italic;background:#fff}
.flag{display:inline-block;font-size:11px;border-radius:3px;padding:0 4px;margin-right:3px;color:#fff;background:var(--mute)}
.flag.f-crash,.flag.f-dropped,.flag.f-torn,.flag.f-culprit{background:var(--bad)}
.flag.f-ack{background:var(--ok)}.flag.f-step{background:#1d4ed8}.flag.f-sink{background:#6d28d9}.flag.f-sync{background:#a16207}
tr.removed td{background:#fee2e2}tr.added td{background:#dcfce7}tr.changed td{background:#fef9c3}tr.same td{color:var(--mute)}
.lost{color:var(--bad);font-weight:600}
.hidden{display:none}
svg text{font:11px system-ui,sans-serif}
footer{color:var(--mute);padding:12px 24px;border-top:1px solid var(--line)}
)css";

// Marked-only toggle for timelines and tree diffs (everything stays in the
// page, so it still reads without script).
const char kScript[] = R"js(
function asToggle(btn){var box=document.getElementById(btn.dataset.target);if(!box)return;
var rows=box.querySelectorAll('tr.plain');var hide=!btn.classList.contains('on');
rows.forEach(function(r){r.classList.toggle('hidden',hide)});btn.classList.toggle('on');
btn.textContent=hide?'show all rows':'show marked rows only';}
document.addEventListener('DOMContentLoaded',function(){
document.body.setAttribute('data-groups',document.querySelectorAll('section.group').length);});
)js";

std::string Fixed(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string Anchor(size_t s, size_t m, size_t g);

// "N findings", one item per root cause (reports/findings.h), each linking
// to the groups it explains. First on the page.
std::string FindingsSection(const Report& r) {
  std::vector<Finding> findings = FindFindings(r);
  std::string h = "<h2 id=\"findings\">" + HtmlEscape(FindingsHeadline(findings)) + "</h2>";
  if (findings.empty()) return h;
  h += "<ol class=\"findings\">";
  for (const Finding& f : findings) {
    const FindingPlace& p = f.places.front();
    const ViolationGroup& g = r.scenarios[p.scenario].models[p.model].groups[p.group];
    std::string where;
    for (const FindingPlace& q : f.places) {
      const ScenarioResult& s = r.scenarios[q.scenario];
      where += std::string(where.empty() ? "" : ", ") + "<a href=\"#" +
               Anchor(q.scenario, q.model, q.group) + "\">" + HtmlEscape(s.name) + " / " +
               HtmlEscape(s.models[q.model].model) + "</a>";
    }
    std::string site = g.evidence.culprit.Site();
    h += "<li class=\"finding\" data-fingerprint=\"" + f.fingerprint +
         "\"><span class=\"badge\" style=\"background:" + std::string(html_internal::VerdictColor(f.verdict)) +
         "\">" + std::string(VerdictName(f.verdict)) + "</span> " +
         (f.expected ? "<span class=\"badge expected\">expected</span> " : "") +
         HtmlEscape(f.title) + "<div class=\"meta\"><span>" + std::to_string(f.states) +
         " state(s): " + where + "</span>" +
         (site.empty() ? "" : "<span>culprit <span class=\"mono\">" + HtmlEscape(site) + "</span></span>") +
         "</div></li>";
  }
  return h + "</ol>";
}

std::string Anchor(size_t s, size_t m, size_t g) {
  return "g-" + std::to_string(s) + "-" + std::to_string(m) + "-" + std::to_string(g);
}

std::string Counts(const ModelResult& m) {
  std::string out = "<div class=\"counts\">";
  bool any = false;
  for (Verdict v : {Verdict::kLost, Verdict::kCorrupt, Verdict::kPhantom, Verdict::kRecoveryFailed,
                    Verdict::kDuplicate}) {
    if (m.Count(v) == 0) continue;
    any = true;
    out += "<span style=\"color:" + std::string(html_internal::VerdictColor(v)) + "\">" +
           std::string(VerdictName(v)) + " " + std::to_string(m.Count(v)) + "</span>";
  }
  if (!any) out += "<span>no violation</span>";
  return out + "</div>";
}

std::string Overview(const Report& r) {
  std::vector<std::string> models;
  std::set<std::string> seen;
  for (const auto& s : r.scenarios) {
    for (const auto& m : s.models) {
      if (seen.insert(m.model).second) models.push_back(m.model);
    }
  }
  std::string h = "<table class=\"overview\"><tr><th>target</th><th>scenario</th>";
  for (const auto& m : models) h += "<th>" + HtmlEscape(m) + "</th>";
  h += "</tr>";
  for (size_t si = 0; si < r.scenarios.size(); ++si) {
    const ScenarioResult& s = r.scenarios[si];
    h += "<tr><td>" + HtmlEscape(s.target) + "</td><td><a href=\"#s-" + std::to_string(si) + "\">" +
         HtmlEscape(s.name) + "</a></td>";
    if (!s.error.empty()) {
      h += "<td class=\"cell-fail\" colspan=\"" + std::to_string(models.size()) +
           "\"><span class=\"badge fail\">ERROR</span> " + HtmlEscape(s.error) + "</td></tr>";
      continue;
    }
    for (const auto& name : models) {
      const ModelResult* m = nullptr;
      size_t mi = 0;
      for (size_t k = 0; k < s.models.size(); ++k) {
        if (s.models[k].model == name) m = &s.models[mi = k];
      }
      if (m == nullptr) {
        h += "<td></td>";
        continue;
      }
      h += std::string("<td class=\"") + (m->passed ? "cell-pass" : "cell-fail") + "\">";
      h += std::string("<span class=\"badge ") + (m->passed ? "pass\">pass" : "fail\">FAIL") +
           "</span> ";
      if (m->inconclusive)
        h += "<span class=\"badge inconclusive\" title=\"the recorder missed calls: no violation "
             "is not a proof\">inconclusive</span> ";
      if (!m->groups.empty())
        h += "<a href=\"#" + Anchor(si, mi, 0) + "\">" + std::to_string(m->groups.size()) +
             " group" + (m->groups.size() == 1 ? "" : "s") + "</a>";
      h += Counts(*m);
      h += "<div class=\"meta\"><span>" + std::to_string(m->states_explored) + " states (" +
           std::to_string(m->states_unique) + " checked)</span><span>dup rate " +
           Fixed(m->duplicate_rate, 3) + "</span><span>" + Fixed(m->seconds, 2) +
           " s</span></div></td>";
    }
    h += "</tr>";
  }
  return h + "</table>";
}

std::string ScenarioSection(const ScenarioResult& s, size_t si) {
  std::string h = "<h2 id=\"s-" + std::to_string(si) + "\">" + HtmlEscape(s.name) + "</h2>";
  h += "<div class=\"meta\"><span>target <b>" + HtmlEscape(s.target) + "</b></span><span>" +
       HtmlEscape(s.file) + "</span></div>";
  if (!s.description.empty()) h += "<p>" + HtmlEscape(s.description) + "</p>";
  if (!s.error.empty()) return h + "<pre>" + HtmlEscape(s.error) + "</pre>";
  if (!s.workload_notes.empty()) {
    h += "<ul>";
    for (const auto& n : s.workload_notes) h += "<li>" + HtmlEscape(n) + "</li>";
    h += "</ul>";
  }
  for (size_t mi = 0; mi < s.models.size(); ++mi) {
    const ModelResult& m = s.models[mi];
    h += "<h3>" + HtmlEscape(m.model) + " <span class=\"badge " +
         (m.passed ? "pass\">pass" : "fail\">FAIL") + "</span> <span class=\"meta\"><span>" +
         HtmlEscape(m.strategy) + "</span><span>" + std::to_string(m.states_explored) +
         " states</span></span>" +
         (m.inconclusive ? " <span class=\"badge inconclusive\">inconclusive</span>" : "") +
         "</h3>";
    if (m.inconclusive) {
      h += "<p>Inconclusive: the recorder missed calls of the target, so crash states may lack "
           "what it missed and finding no violation is not a proof.</p><ul>";
      for (const auto& why : m.inconclusive_reasons) h += "<li>" + HtmlEscape(why) + "</li>";
      h += "</ul>";
    }
    if (!m.expectation_failures.empty()) {
      h += "<ul>";
      for (const auto& f : m.expectation_failures)
        h += "<li class=\"lost\">expectation: " + HtmlEscape(f) + "</li>";
      h += "</ul>";
    }
    if (m.groups.empty()) {
      h += "<p class=\"meta\"><span>no violation group</span></p>";
      continue;
    }
    std::string prefix = "g-" + std::to_string(si) + "-" + std::to_string(mi) + "-";
    h += CrashPointChart(m, prefix);
    for (size_t gi = 0; gi < m.groups.size(); ++gi)
      h += GroupSection(s, m, m.groups[gi], Anchor(si, mi, gi));
  }
  return h;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string ReportToHtml(const Report& r) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
      "<title>aftershock report</title><style>";
  h += kStyle;
  h += "</style><script>";
  h += kScript;
  h += "</script></head><body><header><h1>aftershock report ";
  h += r.Passed() ? "<span class=\"badge pass\">all expectations held</span>"
                  : "<span class=\"badge fail\">FAILED</span>";
  h += "</h1><div class=\"meta\"><span>version <b>" + HtmlEscape(r.aftershock_version) +
       "</b></span><span>seed <b>" + std::to_string(r.seed) + "</b></span><span>started <b>" +
       HtmlEscape(r.started_utc) + "</b></span><span>time <b>" + Fixed(r.seconds, 1) +
       " s</b></span></div>";
  if (!r.command_line.empty())
    h += "<div class=\"meta\"><span><code>" + HtmlEscape(r.command_line) + "</code></span></div>";
  if (!r.sandbox.empty())
    h += "<div class=\"meta\"><span>target commands: " + HtmlEscape(r.sandbox) + "</span></div>";
  h += "</header><main>" + FindingsSection(r) + "<h2>Overview</h2>";
  h += Overview(r);
  for (size_t si = 0; si < r.scenarios.size(); ++si) h += ScenarioSection(r.scenarios[si], si);
  h += "</main><footer>Generated by aftershock " + HtmlEscape(r.aftershock_version) +
       ". Regenerate with <code>aftershock report report.json --html report.html</code>."
       "</footer></body></html>\n";
  return h;
}

}  // namespace aftershock
