// Every bad input is exit status 2 with a message that names the path or the
// place, never an abort from an uncaught exception (issue 18's crash inputs:
// a path component over 255 bytes, a symlink loop, empty paths, -j 100000,
// target = "", a malformed report.json), and a rejected run leaves no
// scratch directory behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using testing::Aftershock;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

const std::string kLong(300, 'x');

std::string Scenario(const std::string& target) {
  return "target = \"" + target + "\"\n[[step]]\nkind = \"enqueue\"\nrcpts = [\"a@local\"]\n";
}

std::string Manifest() {
  return std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/refqueue.toml";
}

// Runs `aftershock ARGS` as a process whose pid is known, and says whether a
// scratch directory of that pid is left in /dev/shm.
Result RunAndCheckNoScratchLeft(const std::string& args, bool* left) {
  Result r = Shell("sh -c 'echo pid=$$; exec " AFTERSHOCK_EXE " " + args + "'");
  size_t at = r.output.find("pid=");
  std::string pid = r.output.substr(at + 4, r.output.find('\n', at) - at - 4);
  *left = false;
  for (const auto& e : fs::directory_iterator("/dev/shm")) {
    *left |= e.path().filename().string().rfind("aftershock-" + pid + "-", 0) == 0;
  }
  return r;
}

void ExpectInputError(const Result& r, const std::string& named) {
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
}

TEST(BadInput, TargetWithAComponentOver255BytesNamesIt) {
  ScratchDir dir;
  std::string s = dir.Write("s.toml", Scenario(Manifest()));
  ExpectInputError(Aftershock("run " + s + " --target " + dir.path() + "/" + kLong + "/m.toml"),
                   "component longer than 255 bytes");
  ExpectInputError(Aftershock("check --target " + kLong), kLong);
}

TEST(BadInput, ScenarioTargetWithAComponentOver255BytesPointsAtTheKey) {
  ScratchDir dir;
  std::string s = dir.Write("s.toml", Scenario(kLong + "/m.toml"));
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out");
  ExpectInputError(r, s + ":1:10: target manifest: ");
  EXPECT_NE(r.output.find("component longer than 255 bytes"), std::string::npos) << r.output;
}

TEST(BadInput, EmptyScenarioTargetPointsAtTheKey) {
  ScratchDir dir;
  std::string s = dir.Write("s.toml", Scenario(""));
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out");
  ExpectInputError(r, s + ":1:10: target manifest: ");
  EXPECT_NE(r.output.find("not a regular file"), std::string::npos) << r.output;
}

TEST(BadInput, SymlinkLoopAsTargetNamesIt) {
  ScratchDir dir;
  std::string loop = dir.path() + "/loop";
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  ExpectInputError(Aftershock("check --target " + loop), loop + ": Too many levels of symbolic links");
  std::string s = dir.Write("s.toml", Scenario(Manifest()));
  ExpectInputError(Aftershock("run " + s + " --out " + loop + "/out"), loop);
}

TEST(BadInput, EmptyTargetOutAndIntoAreUsageErrorsWithoutScratchLeft) {
  ScratchDir dir;
  std::string s = dir.Write("s.toml", Scenario(Manifest()));
  bool left = true;
  ExpectInputError(RunAndCheckNoScratchLeft("check --target \"\"", &left), "an empty path");
  EXPECT_FALSE(left);
  ExpectInputError(RunAndCheckNoScratchLeft("run " + s + " --out \"\"", &left), "an empty path");
  EXPECT_FALSE(left);
  std::string report = dir.Write("report.json", "{}");
  ExpectInputError(
      RunAndCheckNoScratchLeft("replay " + report + " --state p1 --into \"\"", &left),
      "an empty path");
  EXPECT_FALSE(left);
}

TEST(BadInput, JobsAreBounded) {
  ScratchDir dir;
  std::string s = dir.Write("s.toml", Scenario(Manifest()));
  bool left = true;
  ExpectInputError(
      RunAndCheckNoScratchLeft("run " + s + " -j 100000 --out " + dir.path() + "/out", &left),
      "100000");
  EXPECT_FALSE(left);
  EXPECT_FALSE(fs::exists(dir.path() + "/out"));
}

TEST(BadInput, ADirectoryAsScenarioOrManifestIsNotAFile) {
  ScratchDir dir;
  ExpectInputError(Aftershock("run " + dir.path()), dir.path() + ": not a regular file");
  ExpectInputError(Aftershock("check --target " + dir.path()), dir.path() + ": not a regular file");
}

TEST(BadInput, MissingRequiredKeyPointsAtTheTable) {
  ScratchDir dir;
  std::string m = dir.Write("m.toml", "[commands]\nenqueue = \"true\"\n");
  std::string s = dir.Write("s.toml", Scenario(m));
  ExpectInputError(Aftershock("run " + s + " --out " + dir.path() + "/out"),
                   m + ":1:1: missing required key 'name'");
}

TEST(BadInput, MalformedReportNamesTheMember) {
  ScratchDir dir;
  std::string report = dir.Write(
      "report.json",
      R"({"schema": "aftershock-report", "schema_version": 1, "aftershock_version": "0",
          "seed": 1, "scenarios": [{"name": 7, "file": "s.toml", "models": []}]})");
  Result r = Aftershock("replay " + report + " --state p1 --into " + dir.path() + "/st");
  ExpectInputError(r, "/scenarios/0/name: expected a string, found number");
  EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/st"));
  r = Aftershock("report " + report + " --html " + dir.path() + "/r.html");
  ExpectInputError(r, "/scenarios/0/name");
  EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aftershock
