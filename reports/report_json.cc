#include <cstdio>
#include <cstdlib>

#include <optional>

#include "reports/findings.h"
#include "reports/evidence_json.h"
#include "reports/json_in.h"
#include "reports/writers.h"

namespace aftershock {

using nlohmann::json;

namespace {

// "" for 0: an unknown hash.
std::string HashHex(uint64_t h) { return h == 0 ? "" : Hex64(h); }

json GroupJson(const ViolationGroup& g) {
  return {{"verdict", VerdictName(g.verdict)},
          {"cause", g.cause},
          {"count", g.count},
          {"example_state", g.example_state},
          {"example_description", g.example_description},
          {"example_detail", g.example_detail},
          {"reproduce", g.reproduce},
          {"example_log", g.example_log},
          {"expected", g.expected},
          {"example_state_hash", HashHex(g.example_hash)},
          {"example_crash_seq", g.example_crash_seq},
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
          {"crash_points_pruned", m.crash_points_pruned},
          {"states_unique", m.states_unique},
          {"states_recovered", m.states_recovered},
          {"verdicts", verdicts},
          {"normalized", m.states_normalized},
          {"normalizations", m.normalizations},
          {"duplicate_rate", m.duplicate_rate},
          {"passed", m.passed},
          {"expectation_failures", m.expectation_failures},
          {"groups", groups},
          {"seconds", m.seconds},
          {"truncated", m.truncated},
          {"inconclusive", m.inconclusive},
          {"inconclusive_reasons", m.inconclusive_reasons},
          {"states_unproven", m.states_unproven},
          {"states_digest", HashHex(m.states_digest)}};
}

json ExpectJson(const Expectation& e) {
  return {{"max_lost", e.max_lost},
          {"max_corrupt", e.max_corrupt},
          {"max_phantom", e.max_phantom},
          {"max_recovery_failed", e.max_recovery_failed},
          {"max_duplicate_rate", e.max_duplicate_rate},
          {"violation", e.violation},
          {"violation_models", e.violation_models}};
}

}  // namespace

// Derived, for CI consumers: the reader ignores it and recomputes.
json FindingsJson(const Report& r) {
  json out = json::array();
  for (const Finding& f : FindFindings(r)) {
    json places = json::array();
    for (const FindingPlace& p : f.places) {
      places.push_back({{"scenario", r.scenarios[p.scenario].name},
                        {"model", r.scenarios[p.scenario].models[p.model].model},
                        {"group", p.group}});
    }
    out.push_back({{"title", f.title},
                   {"verdict", std::string(VerdictName(f.verdict))},
                   {"expected", f.expected},
                   {"states", f.states},
                   {"fingerprint", f.fingerprint},
                   {"key", f.key},
                   {"scenarios", f.scenarios},
                   {"models", f.models},
                   {"places", places}});
  }
  return out;
}

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
                         {"expect", ExpectJson(s.expect)},
                         {"error", s.error},
                         {"workload_notes", s.workload_notes},
                         {"passed", s.Passed()},
                         {"models", models}});
  }
  json out = {{"schema", "aftershock-report"},
              {"schema_version", kReportSchemaVersion},
              {"aftershock_version", r.aftershock_version},
              {"seed", r.seed},
              {"started_utc", r.started_utc},
              {"seconds", r.seconds},
              {"command_line", r.command_line},
              {"sandbox", r.sandbox},
              {"passed", r.Passed()},
              {"findings", FindingsJson(r)},
              {"scenarios", scenarios}};
  if (r.shard.Active()) {
    out["shard"] = {{"index", r.shard.index}, {"count", r.shard.count}, {"source", r.shard.source}};
  }
  if (r.merged_shards > 0) out["merged_shards"] = r.merged_shards;
  return out;
}

namespace {

ViolationGroup GroupFrom(const JsonIn& gj) {
  ViolationGroup g;
  std::string verdict = gj["verdict"].String();
  std::optional<Verdict> v = ParseVerdict(verdict);
  if (!v) gj["verdict"].Fail("unknown verdict \"" + verdict + "\"");
  g.verdict = *v;
  g.cause = gj.String("cause", "");
  g.count = gj.Int("count", 0);
  g.example_state = gj.String("example_state", "");
  g.example_description = gj.String("example_description", "");
  g.example_detail = gj.String("example_detail", "");
  g.reproduce = gj.String("reproduce", "");
  g.example_log = gj.String("example_log", "");
  g.expected = gj.Bool("expected", false);
  std::string hash = gj.String("example_state_hash", "");
  g.example_hash = hash.empty() ? 0 : std::strtoull(hash.c_str(), nullptr, 16);
  g.example_crash_seq = gj.Unsigned("example_crash_seq", 0);
  if (gj.Has("evidence")) g.evidence = EvidenceFromJson(gj["evidence"]);
  return g;
}

ModelResult ModelFrom(const JsonIn& mj) {
  ModelResult m;
  m.model = mj["model"].String();
  m.strategy = mj["strategy"].String();
  m.states_explored = mj.Int("states_explored", 0);
  m.crash_points_pruned = mj.Int("crash_points_pruned", 0);
  m.states_unique = mj.Int("states_unique", 0);
  m.states_recovered = mj.Int("states_recovered", 0);
  m.states_normalized = mj.Int("normalized", 0);
  m.states_unproven = mj.Int("states_unproven", 0);
  m.normalizations = mj.Strings("normalizations");
  m.duplicate_rate = mj.Number("duplicate_rate", 0.0);
  m.passed = mj.Bool("passed", true);
  JsonIn verdicts = mj["verdicts"];
  if (!verdicts.json().is_object()) verdicts.Fail("expected an object");
  for (int i = 0; i < kVerdictCount; ++i) {
    m.verdicts[i] = verdicts.Int(std::string(kVerdictNames[i]), 0);
  }
  m.expectation_failures = mj.Strings("expectation_failures");
  m.seconds = mj.Number("seconds", 0.0);
  m.truncated = mj.Bool("truncated", false);
  m.inconclusive = mj.Bool("inconclusive", false);
  m.inconclusive_reasons = mj.Strings("inconclusive_reasons");
  std::string digest = mj.String("states_digest", "");
  m.states_digest = digest.empty() ? 0 : std::strtoull(digest.c_str(), nullptr, 16);
  for (const JsonIn& gj : mj["groups"].Elements()) m.groups.push_back(GroupFrom(gj));
  return m;
}

Expectation ExpectFrom(const JsonIn& ej) {
  Expectation e;
  e.max_lost = ej.Int("max_lost", 0);
  e.max_corrupt = ej.Int("max_corrupt", 0);
  e.max_phantom = ej.Int("max_phantom", 0);
  e.max_recovery_failed = ej.Int("max_recovery_failed", 0);
  e.max_duplicate_rate = ej.Number("max_duplicate_rate", 1.0);
  e.violation = ej.String("violation", "");
  e.violation_models = ej.Strings("violation_models");
  return e;
}

// "shard": {"index": K, "count": N, "source": ...}, with 1 <= K <= N.
ShardSpec ShardFrom(const JsonIn& sj) {
  ShardSpec s;
  s.count = static_cast<int>(sj["count"].Int());
  s.index = static_cast<int>(sj["index"].Int());
  s.source = sj.String("source", "");
  if (s.count < 1 || s.index < 1 || s.index > s.count) sj.Fail("expected 1 <= index <= count");
  return s;
}

ScenarioResult ScenarioFrom(const JsonIn& sj) {
  ScenarioResult s;
  s.name = sj["name"].String();
  s.file = sj["file"].String();
  s.target = sj.String("target", "");
  s.target_file = sj.String("target_file", "");
  s.seed = sj.Unsigned("seed", 0);
  if (sj.Has("env")) {
    for (const JsonIn& kv : sj["env"].Elements()) {
      std::vector<JsonIn> pair = kv.Elements();
      if (pair.size() != 2) kv.Fail("expected [name, value]");
      s.env.emplace_back(pair[0].String(), pair[1].String());
    }
  }
  if (sj.Has("expect")) s.expect = ExpectFrom(sj["expect"]);
  s.error = sj.String("error", "");
  s.description = sj.String("description", "");
  s.workload_notes = sj.Strings("workload_notes");
  for (const JsonIn& mj : sj["models"].Elements()) s.models.push_back(ModelFrom(mj));
  return s;
}

}  // namespace

Status ReportFromJson(const json& json_report, Report* out) {
  JsonIn j(json_report, "");
  try {
    if (!j.Has("schema") || !j["schema"].json().is_string() ||
        j["schema"].String() != "aftershock-report") {
      return Status::Error("not an aftershock report (no \"schema\": \"aftershock-report\")");
    }
    int64_t version = j["schema_version"].Int();
    if (version != kReportSchemaVersion) {
      return Status::Error("report schema version " + std::to_string(version) +
                           " (this aftershock reads " + std::to_string(kReportSchemaVersion) + ")");
    }
    Report r;
    r.aftershock_version = j["aftershock_version"].String();
    r.seed = j["seed"].Unsigned();
    r.started_utc = j.String("started_utc", "");
    r.command_line = j.String("command_line", "");
    r.sandbox = j.String("sandbox", "");
    r.seconds = j.Number("seconds", 0.0);
    if (j.Has("shard")) r.shard = ShardFrom(j["shard"]);
    r.merged_shards = static_cast<int>(j.Int("merged_shards", 0));
    for (const JsonIn& sj : j["scenarios"].Elements()) r.scenarios.push_back(ScenarioFrom(sj));
    *out = std::move(r);
    return Status::Ok();
  } catch (const JsonInError& e) {
    return Status::Error("malformed report: " + e.message);
  }
}

}  // namespace aftershock
