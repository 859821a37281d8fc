// `aftershock report`: every format again from report.json alone.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"
#include "tests/reports/report_fixtures.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ReportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/dev/shm/aftershock-report-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  // Exit status; *output gets stdout and stderr.
  int Run(const std::string& args, std::string* output) {
    std::string cmd =
        std::string(AFTERSHOCK_EXE) + " report " + args + " >" + dir_ + "/out.txt 2>&1";
    int status = std::system(cmd.c_str());
    *output = ReadAll(dir_ + "/out.txt");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  std::string dir_;
};

TEST_F(ReportCommand, RegeneratesEveryFormatFromTheJson) {
  Report r = testing_fixtures::SampleReport("/src/queue/enqueue.cc", 88);
  std::string json = Write("report.json", ReportToJson(r).dump(2));
  std::string out;
  ASSERT_EQ(Run(json + " --html " + dir_ + "/r.html --sarif " + dir_ + "/r.sarif --junit " + dir_ +
                    "/j.xml --md " + dir_ + "/s.md --source-root /src",
                &out),
            0)
      << out;
  EXPECT_EQ(ReadAll(dir_ + "/r.html"), ReportToHtml(r));
  EXPECT_EQ(ReadAll(dir_ + "/r.sarif"), ReportToSarif(r, {"/src"}));
  EXPECT_EQ(ReadAll(dir_ + "/j.xml"), ReportToJunit(r));
  EXPECT_EQ(ReadAll(dir_ + "/s.md"), ReportToMarkdown(r));
}

TEST_F(ReportCommand, MalformedJsonSaysWhereAndExits2) {
  std::string json = Write("bad.json", "{\n  \"schema\": \"aftershock-report\",\n  \"seed\": ,\n}");
  std::string out;
  EXPECT_EQ(Run(json + " --html " + dir_ + "/r.html", &out), 2);
  EXPECT_NE(out.find("line 3, column 11"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir_ + "/r.html"));
}

TEST_F(ReportCommand, MissingMemberIsNamedByItsPath) {
  nlohmann::json j = ReportToJson(testing_fixtures::SampleReport("/src/a.cc", 1));
  j["scenarios"][0]["models"][0].erase("groups");
  std::string out;
  EXPECT_EQ(Run(Write("r.json", j.dump()) + " --md " + dir_ + "/s.md", &out), 2);
  EXPECT_NE(out.find("/scenarios/0/models/0: missing \"groups\""), std::string::npos) << out;
  j = ReportToJson(testing_fixtures::SampleReport("/src/a.cc", 1));
  j["scenarios"][0]["models"][0]["groups"][0]["evidence"] = "none";
  EXPECT_EQ(Run(Write("r.json", j.dump()) + " --md " + dir_ + "/s.md", &out), 2);
  EXPECT_NE(out.find("/scenarios/0/models/0/groups/0/evidence"), std::string::npos) << out;
}

TEST_F(ReportCommand, NothingToWriteOrNoFileIsAnError) {
  std::string out;
  std::string json = Write("r.json", ReportToJson(testing_fixtures::SampleReport("", 0)).dump());
  EXPECT_EQ(Run(json, &out), 2);
  EXPECT_NE(out.find("nothing to write"), std::string::npos) << out;
  EXPECT_EQ(Run(dir_ + "/missing.json --md " + dir_ + "/s.md", &out), 2);
  EXPECT_NE(out.find("cannot read"), std::string::npos) << out;
}

}  // namespace
}  // namespace aftershock
