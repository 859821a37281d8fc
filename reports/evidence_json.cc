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

std::vector<TreeEntry> TreeFrom(const json& j) {
  std::vector<TreeEntry> out;
  for (const auto& t : j) {
    TreeEntry e;
    e.path = t.at("path").get<std::string>();
    std::string type = t.value("type", "f");
    e.type = type.empty() ? 'f' : type[0];
    e.size = t.value("size", uint64_t{0});
    e.mode = t.value("mode", uint32_t{0});
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
  json culprit = {{"known", c.known}, {"seq", c.seq},       {"role", c.role},
                  {"op", c.op},       {"module", c.module}, {"offset", c.offset},
                  {"file", c.file},   {"line", c.line},     {"function", c.function}};
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

Evidence EvidenceFromJson(const json& j) {
  Evidence e;
  if (!j.is_object()) throw json::type_error::create(302, "evidence must be an object", &j);
  e.present = j.value("present", false);
  e.error = j.value("error", "");
  if (!e.present) return e;
  e.model = j.value("model", "");
  e.strategy = j.value("strategy", "");
  e.crash_seq = j.value("crash_seq", uint64_t{0});
  e.trace_end = j.value("trace_end", uint64_t{0});
  e.dropped_seqs = j.value("dropped_seqs", std::vector<uint64_t>{});
  e.torn_seqs = j.value("torn_seqs", std::vector<uint64_t>{});
  for (const auto& w : j.value("workload", json::array())) {
    e.workload.push_back({w.at("seq").get<uint64_t>(), w.value("end_seq", uint64_t{0}),
                          w.value("what", ""), w.value("exit", "")});
  }
  for (const auto& t : j.value("timeline", json::array())) {
    TimelineEntry x;
    x.seq = t.at("seq").get<uint64_t>();
    x.pid = t.value("pid", 0);
    x.call = t.value("call", "");
    x.args = t.value("args", "");
    x.result = t.value("result", "");
    x.site = t.value("site", "");
    x.flags = t.value("flags", uint32_t{0});
    e.timeline.push_back(std::move(x));
  }
  e.timeline_omitted = j.value("timeline_omitted", int64_t{0});
  e.tree_before = TreeFrom(j.value("tree_before", json::array()));
  e.tree_after = TreeFrom(j.value("tree_after", json::array()));
  e.tree_truncated = j.value("tree_truncated", false);
  for (const auto& m : j.value("mail", json::array())) {
    e.mail.push_back(
        {m.value("kind", ""), m.value("id", ""), m.value("rcpt", ""), m.value("detail", "")});
  }
  if (j.contains("culprit")) {
    const json& c = j.at("culprit");
    e.culprit.known = c.value("known", false);
    e.culprit.seq = c.value("seq", uint64_t{0});
    e.culprit.role = c.value("role", "");
    e.culprit.op = c.value("op", "");
    e.culprit.module = c.value("module", "");
    e.culprit.offset = c.value("offset", uint64_t{0});
    e.culprit.file = c.value("file", "");
    e.culprit.line = c.value("line", 0);
    e.culprit.function = c.value("function", "");
  }
  e.root_cause = j.value("root_cause", "");
  for (const auto& p : j.value("crash_points", json::array())) {
    e.crash_points.emplace_back(p.at(0).get<uint64_t>(), p.at(1).get<int64_t>());
  }
  return e;
}

}  // namespace aftershock
