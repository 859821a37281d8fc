// The verdict table of docs/sqlite-verdicts.md and of the safecat example
// (docs/validating-your-queue.md), asserted: `aftershock run` of the
// table's workload (verdicts_workload.toml) against each manifest under
// process, posix and ext4-ordered with a fixed seed, checked against
// tests/thirdparty/expected_verdicts.toml.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kSource = SOURCE_ROOT;
const std::string kWorkload = kSource + "/tests/thirdparty/verdicts_workload.toml";
const char* const kModels[] = {"process", "posix", "ext4-ordered"};
const char* const kViolations[] = {"lost", "corrupt", "phantom", "recovery-failed"};
constexpr int kSeed = 7;

struct ModelExpectation {
  std::set<std::string> must;
  std::set<std::string> may;
  std::string culprit;  // a substring of the cause of some group of a `must` verdict
};

struct TargetExpectation {
  std::string manifest;
  std::map<std::string, ModelExpectation> models;
};

std::vector<TargetExpectation> LoadExpectations() {
  std::vector<TargetExpectation> out;
  toml::table t = toml::parse_file(kSource + "/tests/thirdparty/expected_verdicts.toml");
  for (const toml::node& n : *t["target"].as_array()) {
    const toml::table& target = *n.as_table();
    TargetExpectation e;
    e.manifest = target["manifest"].value_or(std::string());
    for (const char* model : kModels) {
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
  std::string cmd = std::string(AFTERSHOCK_EXE) + " run " + kWorkload + " --target " + kSource +
                    "/targets/" + manifest + " --seed " + std::to_string(kSeed) +
                    " --jobs 2 --quiet --out " + out.path() + "/out";
  for (const char* m : kModels) cmd += std::string(" --model ") + m;
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
  for (const char* model : kModels) {
    const nlohmann::json* m = ModelOf(report, model);
    if (!m) continue;
    s += std::string(model) + " " + (*m)["verdicts"].dump() + " " +
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

TEST(VerdictTableSeed, SameSeedGivesTheSameStatesAndVerdicts) {
  ScratchDir a, b;
  std::string first = Fingerprint(RunTable("sqlite-wal-normal.toml", a));
  std::string second = Fingerprint(RunTable("sqlite-wal-normal.toml", b));
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(first, second);
}

}  // namespace
}  // namespace aftershock::thirdparty_test
