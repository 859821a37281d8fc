#include <cstdio>
#include <cstdlib>

#include "reports/evidence_json.h"
#include "reports/writers.h"

namespace aftershock {

using nlohmann::json;

namespace {

std::string HashHex(uint64_t h) {
  if (h == 0) return "";
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

json GroupJson(const ViolationGroup& g) {
  return {{"verdict", VerdictName(g.verdict)},
          {"cause", g.cause},
          {"count", g.count},
          {"example_state", g.example_state},
          {"example_description", g.example_description},
          {"example_detail", g.example_detail},
          {"reproduce", g.reproduce},
          {"expected", g.expected},
          {"example_state_hash", HashHex(g.example_hash)},
          {"evidence", EvidenceToJson(g.evidence)}};
}

// [[KEY, VALUE], ...]: an array keeps the order (a later pair overrides).
json EnvJson(const std::vector<std::pair<std::string, std::string>>& env) {
  json a = json::array();
  for (const auto& [k, v] : env) a.push_back({k, v});
  return a;
}

json ModelJson(const ModelResult& m) {
  json verdicts = json::object();
  for (int i = 0; i < kVerdictCount; ++i) verdicts[std::string(kVerdictNames[i])] = m.verdicts[i];
  json groups = json::array();
  for (const auto& g : m.groups) groups.push_back(GroupJson(g));
  return {{"model", m.model},
          {"strategy", m.strategy},
          {"states_explored", m.states_explored},
          {"states_unique", m.states_unique},
          {"states_recovered", m.states_recovered},
          {"verdicts", verdicts},
          {"duplicate_rate", m.duplicate_rate},
          {"passed", m.passed},
          {"expectation_failures", m.expectation_failures},
          {"groups", groups},
          {"seconds", m.seconds},
          {"truncated", m.truncated},
          {"inconclusive", m.inconclusive},
          {"inconclusive_reasons", m.inconclusive_reasons},
          {"states_unproven", m.states_unproven}};
}

}  // namespace

json ReportToJson(const Report& r) {
  json scenarios = json::array();
  for (const auto& s : r.scenarios) {
    json models = json::array();
    for (const auto& m : s.models) models.push_back(ModelJson(m));
    scenarios.push_back({{"name", s.name},
                         {"file", s.file},
                         {"description", s.description},
                         {"target", s.target},
                         {"target_file", s.target_file},
                         {"seed", s.seed},
                         {"env", EnvJson(s.env)},
                         {"error", s.error},
                         {"workload_notes", s.workload_notes},
                         {"passed", s.Passed()},
                         {"models", models}});
  }
  return {{"schema", "aftershock-report"},
          {"schema_version", kReportSchemaVersion},
          {"aftershock_version", r.aftershock_version},
          {"seed", r.seed},
          {"started_utc", r.started_utc},
          {"seconds", r.seconds},
          {"command_line", r.command_line},
          {"passed", r.Passed()},
          {"scenarios", scenarios}};
}

bool ReportFromJson(const json& j, Report* out, std::string* error) {
  try {
    if (j.value("schema", "") != "aftershock-report") {
      *error = "not an aftershock report";
      return false;
    }
    int version = j.at("schema_version").get<int>();
    if (version != kReportSchemaVersion) {
      *error = "report schema version " + std::to_string(version) + " (this aftershock reads " +
               std::to_string(kReportSchemaVersion) + ")";
      return false;
    }
    Report r;
    r.aftershock_version = j.at("aftershock_version").get<std::string>();
    r.seed = j.at("seed").get<uint64_t>();
    r.started_utc = j.value("started_utc", "");
    r.command_line = j.value("command_line", "");
    r.seconds = j.value("seconds", 0.0);
    for (const auto& sj : j.at("scenarios")) {
      ScenarioResult s;
      s.name = sj.at("name").get<std::string>();
      s.file = sj.at("file").get<std::string>();
      s.target = sj.value("target", "");
      s.target_file = sj.value("target_file", "");
      s.seed = sj.value("seed", uint64_t{0});
      if (sj.contains("env")) {
        for (const auto& kv : sj.at("env")) {
          s.env.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
        }
      }
      s.error = sj.value("error", "");
      s.description = sj.value("description", "");
      s.workload_notes = sj.value("workload_notes", std::vector<std::string>{});
      for (const auto& mj : sj.at("models")) {
        ModelResult m;
        m.model = mj.at("model").get<std::string>();
        m.strategy = mj.at("strategy").get<std::string>();
        m.states_explored = mj.value("states_explored", 0);
        m.states_unique = mj.value("states_unique", 0);
        m.states_recovered = mj.value("states_recovered", 0);
        m.duplicate_rate = mj.value("duplicate_rate", 0.0);
        m.passed = mj.value("passed", true);
        for (int i = 0; i < kVerdictCount; ++i) {
          m.verdicts[i] = mj.at("verdicts").value(std::string(kVerdictNames[i]), int64_t{0});
        }
        m.expectation_failures =
            mj.value("expectation_failures", std::vector<std::string>{});
        m.seconds = mj.value("seconds", 0.0);
        m.truncated = mj.value("truncated", false);
        m.inconclusive = mj.value("inconclusive", false);
        m.inconclusive_reasons = mj.value("inconclusive_reasons", std::vector<std::string>{});
        m.states_unproven = mj.value("states_unproven", int64_t{0});
        for (const auto& gj : mj.at("groups")) {
          ViolationGroup g;
          g.verdict = ParseVerdict(gj.at("verdict").get<std::string>()).value_or(Verdict::kOk);
          g.cause = gj.value("cause", "");
          g.count = gj.value("count", 0);
          g.example_state = gj.value("example_state", "");
          g.example_description = gj.value("example_description", "");
          g.example_detail = gj.value("example_detail", "");
          g.reproduce = gj.value("reproduce", "");
          g.expected = gj.value("expected", false);
          std::string hash = gj.value("example_state_hash", "");
          g.example_hash = hash.empty() ? 0 : std::strtoull(hash.c_str(), nullptr, 16);
          if (gj.contains("evidence")) g.evidence = EvidenceFromJson(gj.at("evidence"));
          m.groups.push_back(g);
        }
        s.models.push_back(m);
      }
      r.scenarios.push_back(s);
    }
    *out = std::move(r);
    return true;
  } catch (const json::exception& e) {
    *error = std::string("malformed report: ") + e.what();
    return false;
  }
}

}  // namespace aftershock
