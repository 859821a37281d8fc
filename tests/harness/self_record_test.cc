// aftershock under its own recorder (issue 18): a whole `aftershock run`,
// recorded by `aftershock record`, writes nothing outside its run directory
// (/dev/shm/aftershock-PID-HEX, built as /dev/shm/.aftershock-PID-HEX.new)
// and its --out (with the staging directory beside it). The recorded
// harness launches its target under a recorder of its own: the nested
// recording (injector/calls_process.cc, NamesAnotherTrace) must leave the
// target's environment to it, so the run still passes.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::RecordSupported;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

// The first absolute path an escape line of `trace show` names, or "".
std::string EscapedPath(const std::string& line) {
  size_t at = line.find("(\"/");
  if (at == std::string::npos) at = line.find("</");
  if (at == std::string::npos) return "";
  at += line[at] == '(' ? 2 : 1;
  size_t end = line.find_first_of("\">", at);
  return line.substr(at, end - at);
}

TEST(SelfRecord, TheHarnessWritesOnlyInItsRunDirectoryAndItsOut) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  const std::string trace = dir.path() + "/self.trace";
  const std::string root = dir.path() + "/domain";
  Result made = Shell("mkdir -p " + root);
  ASSERT_EQ(made.status, 0);
  Result r = Shell(AFTERSHOCK_EXE " record -o " + trace + " --root " + root + " -- " +
                   AFTERSHOCK_EXE " run " + AFTERSHOCK_SOURCE_DIR +
                   "/scenarios/single-message.toml -j 2 -q --out " + root + "/out");
  ASSERT_EQ(r.status, 0) << r.output;
  Result shown = Shell(AFTERSHOCK_EXE " trace show " + trace, false);
  ASSERT_EQ(shown.status, 0) << shown.output;
  // It ran: the harness made its run directory and wrote its reports.
  EXPECT_NE(shown.output.find("/dev/shm/aftershock-"), std::string::npos);
  const std::regex report("\"" + root + "/[^\"]*report\\.json\"");
  EXPECT_TRUE(std::regex_search(shown.output, report)) << "no report.json under " << root;
  const std::regex run_dir(R"(^/dev/shm/\.?aftershock-[0-9]+-[0-9a-f]+(\.new)?(/.*)?$)");
  std::istringstream lines(shown.output);
  std::string line;
  int escapes = 0;
  while (std::getline(lines, line)) {
    if (line.find("[ESCAPE") == std::string::npos) continue;
    ++escapes;
    std::string path = EscapedPath(line);
    // A write through an fd names no path: its open was checked.
    if (path.empty()) continue;
    EXPECT_TRUE(std::regex_match(path, run_dir)) << line;
  }
  EXPECT_GT(escapes, 0) << "the run directory is outside the root: its writes must show";
}

// --allow takes one value per use: the `--` after it still ends aftershock's
// options, and the command's own --out is the command's.
TEST(SelfRecord, OptionsAfterTheDashesAreTheCommands) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  Result r = Shell(AFTERSHOCK_EXE " record -o " + dir.path() + "/t --root " + dir.path() +
                   " --allow /var/tmp --allow /run -- sh -c 'echo \"$0 $1\"; exit 3' --out x");
  EXPECT_EQ(r.status, 3) << r.output;
  EXPECT_NE(r.output.find("--out x"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace aftershock
