// A verdict table, asserted: `aftershock run` of the table's workload
// against each manifest under each of the table's models with a fixed seed,
// checked against the table (VERDICTS_TABLE, relative to the source root).
// Two tables use it: tests/thirdparty/expected_verdicts.toml (SQLite,
// safecat, procmail, dovecot: docs/sqlite-verdicts.md,
// docs/delivery-agents.md) and tests/postfix/expected_verdicts.toml
// (docs/postfix-verdicts.md).
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kSource = SOURCE_ROOT;
const std::string kTable = kSource + "/" + VERDICTS_TABLE;
const char* const kViolations[] = {"lost", "corrupt", "phantom", "recovery-failed"};
constexpr int kSeed = 7;

// The table's own settings: its workload and models (top-level keys
// `workload` and `models`; by default the thirdparty table's).
struct TableSettings {
  std::string workload = kSource + "/tests/thirdparty/verdicts_workload.toml";
  std::vector<std::string> models = {"process", "posix", "ext4-ordered"};
  bool needs_root = false;  // the targets' daemons change users (Postfix)
};

const TableSettings& Settings() {
  static const TableSettings settings = [] {
    TableSettings t;
    toml::table table = toml::parse_file(kTable);
    if (auto w = table["workload"].value<std::string>()) t.workload = kSource + "/" + *w;
    t.needs_root = table["needs_root"].value_or(false);
    if (const toml::array* a = table["models"].as_array()) {
      t.models.clear();
      for (const auto& v : *a) t.models.push_back(v.value_or(std::string()));
    }
    return t;
  }();
  return settings;
}

struct ModelExpectation {
  std::set<std::string> must;
  std::set<std::string> may;
  std::string culprit;  // a substring of the cause of some group of a `must` verdict
                        // (with no `must`: of every group of a `may` verdict)
};

struct TargetExpectation {
  std::string manifest;
  std::map<std::string, ModelExpectation> models;
};

std::vector<TargetExpectation> LoadExpectations() {
  std::vector<TargetExpectation> out;
  toml::table t = toml::parse_file(kTable);
  for (const toml::node& n : *t["target"].as_array()) {
    const toml::table& target = *n.as_table();
    TargetExpectation e;
    e.manifest = target["manifest"].value_or(std::string());
    for (const std::string& model : Settings().models) {
      ModelExpectation m;
      const toml::table* mt = target[model].as_table();
      if (!mt) continue;
      if (const toml::array* a = (*mt)["must"].as_array()) {
        for (const auto& v : *a) m.must.insert(v.value_or(std::string()));
      }
      if (const toml::array* a = (*mt)["may"].as_array()) {
        for (const auto& v : *a) m.may.insert(v.value_or(std::string()));
      }
      m.culprit = (*mt)["culprit"].value_or(std::string());
      e.models[model] = m;
    }
    out.push_back(e);
  }
  return out;
}

// Runs the table's workload against `manifest`; returns report.json.
nlohmann::json RunTable(const std::string& manifest, const ScratchDir& out) {
  std::string cmd = std::string(AFTERSHOCK_EXE) + " run " + Settings().workload + " --target " + kSource +
                    "/targets/" + manifest + " --seed " + std::to_string(kSeed) +
                    " --jobs 2 --quiet --out " + out.path() + "/out";
  for (const std::string& m : Settings().models) cmd += " --model " + m;
  RunResult r = RunShell(cmd, out.path(), {}, "");
  EXPECT_TRUE(r.status == 0 || r.status == 1) << cmd << "\n" << r.err;
  std::string text = ReadFile(out.path() + "/out/report.json");
  if (text.empty()) return nlohmann::json::object();
  return nlohmann::json::parse(text);
}

const nlohmann::json* ModelOf(const nlohmann::json& report, const std::string& model) {
  if (!report.contains("scenarios") || report["scenarios"].empty()) return nullptr;
  for (const auto& m : report["scenarios"][0]["models"]) {
    if (m["model"] == model) return &m;
  }
  return nullptr;
}

// The report's verdicts per model, as one comparable string.
std::string Fingerprint(const nlohmann::json& report) {
  std::string s;
  for (const std::string& model : Settings().models) {
    const nlohmann::json* m = ModelOf(report, model);
    if (!m) continue;
    s += model + " " + (*m)["verdicts"].dump() + " " +
         std::to_string((*m)["states_explored"].get<int64_t>()) + "\n";
    for (const auto& g : (*m)["groups"]) {
      s += "  " + g["verdict"].get<std::string>() + " x" + std::to_string(g["count"].get<int>()) +
           " " + g["cause"].get<std::string>() + " @" + g["example_state"].get<std::string>() +
           "\n";
    }
  }
  return s;
}

class VerdictTable : public testing::TestWithParam<TargetExpectation> {};

TEST_P(VerdictTable, MeasuredVerdictsAreTheTablesUnderEveryModel) {
  const TargetExpectation& e = GetParam();
  if (Settings().needs_root && ::geteuid() != 0) GTEST_SKIP() << "needs root: " << kTable;
  ScratchDir dir;
  nlohmann::json report = RunTable(e.manifest, dir);
  ASSERT_TRUE(report.contains("scenarios")) << "no report for " << e.manifest;
  ASSERT_EQ(report["scenarios"][0]["error"], "") << e.manifest;
  for (const auto& [model, want] : e.models) {
    const nlohmann::json* m = ModelOf(report, model);
    ASSERT_NE(m, nullptr) << e.manifest << " has no result under " << model;
    ASSERT_GT((*m)["states_unique"].get<int64_t>(), 0) << e.manifest << " / " << model;
    for (const char* kind : kViolations) {
      int64_t count = (*m)["verdicts"][kind].get<int64_t>();
      if (want.must.count(kind)) {
        EXPECT_GT(count, 0) << e.manifest << " / " << model << ": expected '" << kind << "'";
      } else if (!want.may.count(kind)) {
        EXPECT_EQ(count, 0) << e.manifest << " / " << model << ": unexpected '" << kind << "'\n"
                            << Fingerprint(report);
      }
    }
    if (!want.culprit.empty() && want.must.empty()) {
      // Only `may` kinds: each group of them that shows up has this cause.
      for (const auto& g : (*m)["groups"]) {
        if (!want.may.count(g["verdict"].get<std::string>())) continue;
        EXPECT_NE(g["cause"].get<std::string>().find(want.culprit), std::string::npos)
            << e.manifest << " / " << model << ": a '" << g["verdict"].get<std::string>()
            << "' group has another cause than '" << want.culprit << "'\n"
            << Fingerprint(report);
      }
    }
    if (!want.culprit.empty() && !want.must.empty()) {
      bool named = false;
      for (const auto& g : (*m)["groups"]) {
        named |= want.must.count(g["verdict"].get<std::string>()) &&
                 g["cause"].get<std::string>().find(want.culprit) != std::string::npos;
      }
      EXPECT_TRUE(named) << e.manifest << " / " << model << ": no violation group names '"
                         << want.culprit << "'\n"
                         << Fingerprint(report);
    }
  }
}

std::string ParamName(const testing::TestParamInfo<TargetExpectation>& info) {
  std::string name = info.param.manifest.substr(0, info.param.manifest.find(".toml"));
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Targets, VerdictTable, testing::ValuesIn(LoadExpectations()), ParamName);

#ifdef VERDICTS_SAME_SEED_CHECK  // a table whose targets are deterministic
TEST(VerdictTableSeed, SameSeedGivesTheSameStatesAndVerdicts) {
  ScratchDir a, b;
  std::string first = Fingerprint(RunTable("sqlite-wal-normal.toml", a));
  std::string second = Fingerprint(RunTable("sqlite-wal-normal.toml", b));
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}
#endif

}  // namespace
}  // namespace aftershock::thirdparty_test
