#include "reports/evidence_json.h"

namespace aftershock {

using nlohmann::json;

namespace {

json TreeJson(const std::vector<TreeEntry>& tree) {
  json out = json::array();
  for (const auto& t : tree) {
    out.push_back(
        {{"path", t.path}, {"type", std::string(1, t.type)}, {"size", t.size}, {"mode", t.mode}});
  }
  return out;
}

std::vector<TreeEntry> TreeFrom(const JsonIn& j) {
  std::vector<TreeEntry> out;
  for (const JsonIn& t : j.Elements()) {
    TreeEntry e;
    e.path = t["path"].String();
    std::string type = t.String("type", "f");
    e.type = type.empty() ? 'f' : type[0];
    e.size = t.Unsigned("size", 0);
    e.mode = static_cast<uint32_t>(t.Unsigned("mode", 0));
    out.push_back(e);
  }
  return out;
}

}  // namespace

json EvidenceToJson(const Evidence& e) {
  if (!e.present) return json::object({{"present", false}, {"error", e.error}});
  json workload = json::array();
  for (const auto& w : e.workload) {
    workload.push_back(
        {{"seq", w.seq}, {"end_seq", w.end_seq}, {"what", w.what}, {"exit", w.exit}});
  }
  json timeline = json::array();
  for (const auto& t : e.timeline) {
    timeline.push_back({{"seq", t.seq},
                        {"pid", t.pid},
                        {"call", t.call},
                        {"args", t.args},
                        {"result", t.result},
                        {"site", t.site},
                        {"flags", t.flags}});
  }
  json mail = json::array();
  for (const auto& m : e.mail) {
    mail.push_back({{"kind", m.kind}, {"id", m.id}, {"rcpt", m.rcpt}, {"detail", m.detail}});
  }
  const Culprit& c = e.culprit;
  json culprit = {{"known", c.known},
                  {"seq", c.seq},
                  {"role", c.role},
                  {"op", c.op},
                  {"module", c.module},
                  {"offset", c.offset},
                  {"file", c.file},
                  {"line", c.line},
                  {"function", c.function},
                  {"frame", c.frame},
                  {"stack_method", c.stack_method}};
  json stack = json::array();
  for (const StackEntry& f : c.stack) {
    stack.push_back({{"module", f.module},
                     {"offset", f.offset},
                     {"file", f.file},
                     {"line", f.line},
                     {"function", f.function},
                     {"wrapper", f.wrapper}});
  }
  culprit["stack"] = stack;
  json points = json::array();
  for (const auto& [seq, n] : e.crash_points) points.push_back({seq, n});
  return {{"present", true},
          {"error", e.error},
          {"model", e.model},
          {"strategy", e.strategy},
          {"crash_seq", e.crash_seq},
          {"trace_end", e.trace_end},
          {"dropped_seqs", e.dropped_seqs},
          {"torn_seqs", e.torn_seqs},
          {"workload", workload},
          {"timeline", timeline},
          {"timeline_omitted", e.timeline_omitted},
          {"tree_before", TreeJson(e.tree_before)},
          {"tree_after", TreeJson(e.tree_after)},
          {"tree_truncated", e.tree_truncated},
          {"mail", mail},
          {"culprit", culprit},
          {"root_cause", e.root_cause},
          {"crash_points", points}};
}

namespace {

std::vector<uint64_t> Seqs(const JsonIn& j, const std::string& key) {
  std::vector<uint64_t> out;
  if (!j.Has(key)) return out;
  for (const JsonIn& e : j[key].Elements()) out.push_back(e.Unsigned());
  return out;
}

std::vector<JsonIn> ElementsOf(const JsonIn& j, const std::string& key) {
  return j.Has(key) ? j[key].Elements() : std::vector<JsonIn>{};
}

Culprit CulpritFrom(const JsonIn& c) {
  Culprit out;
  out.known = c.Bool("known", false);
  out.seq = c.Unsigned("seq", 0);
  out.role = c.String("role", "");
  out.op = c.String("op", "");
  out.module = c.String("module", "");
  out.offset = c.Unsigned("offset", 0);
  out.file = c.String("file", "");
  out.line = static_cast<int>(c.Int("line", 0));
  out.function = c.String("function", "");
  out.frame = c.Unsigned("frame", 0);
  out.stack_method = c.String("stack_method", "");
  for (const JsonIn& f : ElementsOf(c, "stack")) {
    StackEntry e;
    e.module = f.String("module", "");
    e.offset = f.Unsigned("offset", 0);
    e.file = f.String("file", "");
    e.line = static_cast<int>(f.Int("line", 0));
    e.function = f.String("function", "");
    e.wrapper = f.Bool("wrapper", false);
    out.stack.push_back(e);
  }
  if (!out.stack.empty() && out.frame >= out.stack.size()) c.Fail("frame is outside the stack");
  return out;
}

void TimelineFrom(const JsonIn& j, Evidence* e) {
  for (const JsonIn& t : ElementsOf(j, "timeline")) {
    TimelineEntry x;
    x.seq = t["seq"].Unsigned();
    x.pid = static_cast<int32_t>(t.Int("pid", 0));
    x.call = t.String("call", "");
    x.args = t.String("args", "");
    x.result = t.String("result", "");
    x.site = t.String("site", "");
    x.flags = static_cast<uint32_t>(t.Unsigned("flags", 0));
    e->timeline.push_back(std::move(x));
  }
}

}  // namespace

Evidence EvidenceFromJson(const JsonIn& j) {
  Evidence e;
  if (!j.json().is_object())
    j.Fail(std::string("expected an object, found ") + j.json().type_name());
  e.present = j.Bool("present", false);
  e.error = j.String("error", "");
  if (!e.present) return e;
  e.model = j.String("model", "");
  e.strategy = j.String("strategy", "");
  e.crash_seq = j.Unsigned("crash_seq", 0);
  e.trace_end = j.Unsigned("trace_end", 0);
  e.dropped_seqs = Seqs(j, "dropped_seqs");
  e.torn_seqs = Seqs(j, "torn_seqs");
  for (const JsonIn& w : ElementsOf(j, "workload")) {
    e.workload.push_back({w["seq"].Unsigned(), w.Unsigned("end_seq", 0), w.String("what", ""),
                          w.String("exit", "")});
  }
  TimelineFrom(j, &e);
  e.timeline_omitted = j.Int("timeline_omitted", 0);
  if (j.Has("tree_before")) e.tree_before = TreeFrom(j["tree_before"]);
  if (j.Has("tree_after")) e.tree_after = TreeFrom(j["tree_after"]);
  e.tree_truncated = j.Bool("tree_truncated", false);
  for (const JsonIn& m : ElementsOf(j, "mail")) {
    e.mail.push_back(
        {m.String("kind", ""), m.String("id", ""), m.String("rcpt", ""), m.String("detail", "")});
  }
  if (j.Has("culprit")) e.culprit = CulpritFrom(j["culprit"]);
  e.root_cause = j.String("root_cause", "");
  for (const JsonIn& p : ElementsOf(j, "crash_points")) {
    std::vector<JsonIn> pair = p.Elements();
    if (pair.size() != 2) p.Fail("expected [seq, count]");
    e.crash_points.emplace_back(pair[0].Unsigned(), pair[1].Int());
  }
  return e;
}

}  // namespace aftershock
