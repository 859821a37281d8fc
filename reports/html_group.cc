// One violation group's section of report.html.
#include <cstdio>
#include <map>

#include "reports/html.h"

namespace aftershock {
namespace html_internal {
namespace {

std::string Octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

struct FlagName {
  uint32_t bit;
  const char* css;
  const char* label;
};
constexpr FlagName kFlags[] = {
    {kTimelineCulprit, "culprit", "culprit"},
    {kTimelineCrashPoint, "crash", "crash point"},
    {kTimelineDropped, "dropped", "dropped"},
    {kTimelineTorn, "torn", "torn"},
    {kTimelineAck, "ack", "ack"},
    {kTimelineStep, "step", "step"},
    {kTimelineSink, "sink", "sink"},
    {kTimelineSync, "sync", "sync"},
    {kTimelineAfterCrash, "after", "after the crash"},
};

std::string RowClass(const TimelineEntry& t) {
  std::string cls;
  for (const auto& f : kFlags) {
    if (t.Has(f.bit))
      cls += std::string(cls.empty() ? "" : " ") + (f.bit == kTimelineSync ? "synced" : f.css);
  }
  if ((t.flags & ~kTimelineAfterCrash) == 0) cls += cls.empty() ? "plain" : " plain";
  return cls;
}

std::string Timeline(const Evidence& e, const std::string& id) {
  std::string h = "<h4>Trace around the crash</h4>";
  h += "<button type=\"button\" onclick=\"asToggle(this)\" data-target=\"" + id +
       "\">show marked rows only</button> <span class=\"meta\"><span>" +
       std::to_string(e.timeline.size()) + " of " +
       std::to_string(e.timeline.size() + e.timeline_omitted) +
       " records shown; the crash happened after op " +
       std::to_string(e.crash_seq ? e.crash_seq - 1 : 0) + "</span></span>";
  h += "<table class=\"timeline\" id=\"" + id +
       "\"><tr><th>seq</th><th>pid</th><th>call</th><th>arguments</th><th>result</th><th>call "
       "site</th><th>marks</th></tr>";
  uint64_t prev = 0;
  bool first = true;
  for (const TimelineEntry& t : e.timeline) {
    if (!first && t.seq > prev + 1) {
      h += "<tr class=\"gap\"><td colspan=\"7\">&#8943; " + std::to_string(t.seq - prev - 1) +
           " records not shown &#8943;</td></tr>";
    }
    first = false;
    prev = t.seq;
    h += "<tr class=\"" + RowClass(t) + "\"><td class=\"num\">" + std::to_string(t.seq) +
         "</td><td class=\"num\">" + std::to_string(t.pid) + "</td><td class=\"mono\">" +
         HtmlEscape(t.call) + "</td><td class=\"mono\">" + HtmlEscape(t.args) +
         "</td><td class=\"mono\">" + HtmlEscape(t.result) + "</td><td class=\"mono site\">" +
         HtmlEscape(t.site) + "</td><td>";
    for (const auto& f : kFlags) {
      if (t.Has(f.bit))
        h += std::string("<span class=\"flag f-") + f.css + "\">" + f.label + "</span>";
    }
    h += "</td></tr>";
  }
  return h + "</table>";
}

std::string TreeDiff(const Evidence& e, const std::string& id) {
  std::map<std::string, std::pair<const TreeEntry*, const TreeEntry*>> rows;
  for (const auto& t : e.tree_before) rows[t.path].first = &t;
  for (const auto& t : e.tree_after) rows[t.path].second = &t;
  std::string h = "<h4>Files: the crash state, then after recovery</h4>";
  h += "<button type=\"button\" onclick=\"asToggle(this)\" data-target=\"" + id +
       "\">show marked rows only</button>";
  if (e.tree_truncated)
    h += " <span class=\"meta\"><span>(trees cut at their first entries)</span></span>";
  h += "<table class=\"tree\" id=\"" + id +
       "\"><tr><th>path</th><th>before recovery</th><th>after recovery</th><th></th></tr>";
  auto cell = [](const TreeEntry* t) -> std::string {
    if (t == nullptr) return "<td>&#8212;</td>";
    std::string what = t->type == 'd'   ? "dir"
                       : t->type == 'l' ? "symlink"
                       : t->type == 'o' ? "other"
                                        : std::to_string(t->size) + " B";
    return "<td class=\"mono\">" + what + " " + Octal(t->mode) + "</td>";
  };
  for (const auto& [path, pair] : rows) {
    auto [before, after] = pair;
    std::string status = before == nullptr   ? "added"
                         : after == nullptr  ? "removed"
                         : *before == *after ? "same"
                                             : "changed";
    h += "<tr class=\"" + status + (status == "same" ? " plain" : "") + "\"><td class=\"mono\">" +
         HtmlEscape(path) + "</td>" + cell(before) + cell(after) + "<td>" +
         (status == "same" ? "" : status) + "</td></tr>";
  }
  return h + "</table>";
}

std::string Mail(const Evidence& e) {
  if (e.mail.empty()) return "";
  std::string h =
      "<h4>Messages</h4><table "
      "class=\"mail\"><tr><th>finding</th><th>message</th><th>recipient</th>"
      "<th>detail</th></tr>";
  for (const auto& m : e.mail) {
    bool bad = m.kind == "lost" || m.kind == "corrupted" || m.kind == "phantom";
    h += std::string("<tr><td") + (bad ? " class=\"lost\"" : "") + ">" + HtmlEscape(m.kind) +
         "</td><td class=\"mono\">" + HtmlEscape(m.id) + "</td><td class=\"mono\">" +
         HtmlEscape(m.rcpt) + "</td><td>" + HtmlEscape(m.detail) + "</td></tr>";
  }
  return h + "</table>";
}

std::string Workload(const Evidence& e) {
  if (e.workload.empty()) return "";
  std::string h = "<h4>Workload</h4><ol class=\"workload\">";
  for (const auto& w : e.workload) {
    bool crash_here = e.crash_seq > w.seq && e.crash_seq <= w.end_seq;
    h += "<li><code>" + HtmlEscape(w.what) + "</code> <span class=\"meta\"><span>records " +
         std::to_string(w.seq) + "&#8211;" + std::to_string(w.end_seq ? w.end_seq - 1 : 0) +
         (w.exit.empty() ? "" : ", exit " + HtmlEscape(w.exit)) + "</span></span>" +
         (crash_here ? " <span class=\"flag f-crash\">crash here</span>" : "") + "</li>";
  }
  return h + "</ol>";
}

// The blamed op's call stack, innermost first, when it has callers: which
// frame is blamed and which were skipped as wrappers. "" otherwise.
std::string CallStack(const Culprit& c) {
  if (c.stack.size() <= 1) return "";
  std::string h = "<br><b>Call stack:</b> <span class=\"meta\"><span>innermost first" +
                  (c.stack_method.empty() ? "" : ", found by " + HtmlEscape(c.stack_method)) +
                  "</span></span><ol class=\"mono\" style=\"margin:2px 0 0;padding-left:24px\">";
  for (size_t i = 0; i < c.stack.size(); ++i) {
    const StackEntry& s = c.stack[i];
    std::string site = s.Site();
    std::string text =
        "<span class=\"site\">" + HtmlEscape(site.empty() ? "unknown" : site) + "</span>";
    if (i == c.frame) text = "<b>" + text + " &#8592; blamed</b>";
    if (s.wrapper) text += " <span class=\"meta\"><span>(wrapper: skipped)</span></span>";
    h += "<li>" + text + "</li>";
  }
  return h + "</ol>";
}

// `allowed`: the group is no violation (a duplicate is allowed): the op is
// where it happened, not a culprit.
std::string CulpritBox(const Culprit& c, bool allowed) {
  if (!c.known) return "";
  std::string site = c.Site();
  return "<div class=\"culprit\"><b>" + std::string(allowed ? "At" : "Culprit") + ":</b> op " +
         std::to_string(c.seq) + " (" + HtmlEscape(c.role) + ") <code>" + HtmlEscape(c.op) +
         "</code><br><b>Call site:</b> " +
         (site.empty() ? "<span class=\"meta\"><span>unknown (no module or no debug "
                         "information)</span></span>"
                       : "<span class=\"mono site\">" + HtmlEscape(site) + "</span>") +
         CallStack(c) + "</div>";
}

}  // namespace

std::string GroupSection(const ScenarioResult& s, const ModelResult& m, const ViolationGroup& g,
                         const std::string& anchor) {
  (void)s;
  (void)m;
  const Evidence& e = g.evidence;
  const bool allowed = !IsViolation(g.verdict);
  std::string h = "<section class=\"group" +
                  std::string(allowed      ? " allowed-group"
                              : g.expected ? " expected-group"
                                           : "") +
                  "\" id=\"" + anchor + "\">";
  h += "<h3><span class=\"badge\" style=\"background:" + std::string(VerdictColor(g.verdict)) +
       "\">" + std::string(VerdictName(g.verdict)) + "</span> &#215;" + std::to_string(g.count) +
       " &#8212; " + HtmlEscape(g.cause) +
       (allowed      ? " <span class=\"badge expected\">allowed</span>"
        : g.expected ? " <span class=\"badge expected\">expected by the scenario</span>"
                     : "") +
       "</h3>";
  std::string cause = e.root_cause.empty() ? g.example_detail : e.root_cause;
  h += "<div class=\"cause\"><b>" + std::string(allowed ? "What happened." : "Root cause.") +
       "</b> " + HtmlEscape(cause) + "</div>";
  h += CulpritBox(e.culprit, allowed);
  h += "<p class=\"meta\"><span>example state <b class=\"mono\">" + HtmlEscape(g.example_state) +
       "</b></span><span>" + HtmlEscape(g.example_description) + "</span></p>";
  if (!e.error.empty())
    h += "<p class=\"meta\"><span>evidence incomplete: " + HtmlEscape(e.error) + "</span></p>";
  h += Mail(e);
  h += Workload(e);
  if (!e.timeline.empty()) h += Timeline(e, anchor + "-t");
  if (!e.tree_before.empty() || !e.tree_after.empty()) h += TreeDiff(e, anchor + "-f");
  if (!g.example_log.empty())
    h += "<p class=\"meta\"><span>output of recover and deliver on this state: <a href=\"" +
         HtmlEscape(g.example_log) + "\">" + HtmlEscape(g.example_log) + "</a></span></p>";
  if (!g.reproduce.empty())
    h += "<h4>Reproduce</h4><pre class=\"reproduce\">" + HtmlEscape(g.reproduce) + "</pre>";
  return h + "</section>";
}

}  // namespace html_internal
}  // namespace aftershock
