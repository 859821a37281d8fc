// results.sarif against the official SARIF 2.1.0 schema (python3-jsonschema;
// the schema is fetched by scripts/fetch-sarif-schema.sh into the build dir).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reports/sarif.h"
#include "tests/reports/report_fixtures.h"

namespace aftershock {
namespace {

using nlohmann::json;

class SarifSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(SARIF_SCHEMA))
      GTEST_SKIP() << SARIF_SCHEMA << " missing: run scripts/fetch-sarif-schema.sh "
                   << AFTERSHOCK_BUILD_DIR;
    char tmpl[] = "/dev/shm/aftershock-sarif-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  // Exit status of the validator on `text`.
  int Validate(const std::string& text) {
    std::string path = dir_ + "/results.sarif";
    std::ofstream(path) << text;
    std::string cmd = std::string("/usr/bin/python3 ") + VALIDATE_SARIF + " " + SARIF_SCHEMA + " " +
                      path + " 2>" + dir_ + "/errors.txt";
    int status = std::system(cmd.c_str());
    std::ifstream in(dir_ + "/errors.txt");
    errors_.assign(std::istreambuf_iterator<char>(in), {});
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string dir_;
  std::string errors_;
};

TEST_F(SarifSchema, ReportWithASourceLocationValidates) {
  Report r = testing_fixtures::SampleReport("/src/queue/enqueue.cc", 88);
  std::string sarif = ReportToSarif(r, {"/src"});
  // Its call stack is a code flow, with a frame that has no source line.
  ASSERT_TRUE(json::parse(sarif)["runs"][0]["results"][0].contains("codeFlows"));
  EXPECT_EQ(Validate(sarif), 0) << errors_;
}

TEST_F(SarifSchema, ReportWithoutSourceLocationsOrGroupsValidates) {
  Report r = testing_fixtures::SampleReport("", 0);
  EXPECT_EQ(Validate(ReportToSarif(r, {})), 0) << errors_;
  r.scenarios[0].models[0].groups.clear();
  EXPECT_EQ(Validate(ReportToSarif(r, {})), 0) << errors_;
}

TEST_F(SarifSchema, InconclusiveNoteValidates) {
  Report r = testing_fixtures::SampleReport("/src/queue/enqueue.cc", 88);
  r.scenarios[0].models[0].inconclusive = true;
  r.scenarios[0].models[0].inconclusive_reasons = {"recorder gap: x: shared writable mapping"};
  EXPECT_EQ(Validate(ReportToSarif(r, {"/src"})), 0) << errors_;
}

// The check can fail: each of these breaks one rule of the schema.
TEST_F(SarifSchema, InvalidSarifIsRejected) {
  json good = json::parse(
      ReportToSarif(testing_fixtures::SampleReport("/src/queue/enqueue.cc", 88), {"/src"}));
  ASSERT_EQ(Validate(good.dump()), 0) << errors_;
  json bad = good;
  bad["version"] = "2.0.0";
  EXPECT_EQ(Validate(bad.dump()), 1);
  bad = good;
  bad["runs"][0]["results"][0]["level"] = "fatal";
  EXPECT_EQ(Validate(bad.dump()), 1);
  EXPECT_NE(errors_.find("fatal"), std::string::npos) << errors_;
  bad = good;
  bad["runs"][0]["results"][0].erase("message");
  EXPECT_EQ(Validate(bad.dump()), 1);
  bad = good;
  bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0;
  EXPECT_EQ(Validate(bad.dump()), 1);
  bad = good;
  bad["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"] = json::array();
  EXPECT_EQ(Validate(bad.dump()), 1);
  bad = good;
  bad["runs"][0]["tool"]["driver"].erase("name");
  EXPECT_EQ(Validate(bad.dump()), 1);
}

}  // namespace
}  // namespace aftershock
