// The sandbox (injector/sandbox.h, docs/cli.md): a target's commands see
// every file system read-only outside the run directory. A recovery that
// deletes through a symlink to a directory outside its root, and init,
// recover or deliver writing by an absolute path outside, leave the user's
// files as they were and fail, with the command's own error shown.
// --no-sandbox turns it off, and the report says so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock::testing {
namespace {

namespace fs = std::filesystem;

const std::string kShellq = AFTERSHOCK_SOURCE_DIR "/targets/test/shellq.sh";

struct Commands {
  std::string init = "sh " + kShellq + " init";
  std::string recover = "sh " + kShellq + " recover";
  std::string deliver = "sh " + kShellq + " deliver";
};

// A shellq target with these commands, one enqueue and a deliver step.
std::string Scenario(const ScratchDir& dir, const Commands& c) {
  dir.Write("m.toml", "name = \"hostile\"\n[commands]\ninit = '" + c.init + "'\nenqueue = 'sh " +
                          kShellq + " enqueue'\ndeliver = '" + c.deliver + "'\nrecover = '" +
                          c.recover + "'\ntimeout_s = 10\n[mailbox]\nkind = \"sink\"\n");
  return dir.Write("s.toml",
                   "target = \"m.toml\"\nmodels = [\"process\"]\nstrategy = \"prefix\"\n"
                   "[[step]]\nkind = \"enqueue\"\nrcpts = [\"alice@local\"]\n"
                   "[[step]]\nkind = \"deliver\"\n");
}

nlohmann::json Report(const std::string& out) {
  std::ifstream in(out + "/report.json");
  return in ? nlohmann::json::parse(in) : nlohmann::json::object();
}

// Skips the test where the kernel refuses the sandbox (no CAP_SYS_ADMIN).
#define SKIP_WITHOUT_SANDBOX(report)                                               \
  do {                                                                             \
    std::string how = (report).value("sandbox", "");                               \
    if (how.rfind("not sandboxed (", 0) == 0) GTEST_SKIP() << "no sandbox: " << how; \
  } while (0)

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    // Without CAP_SYS_ADMIN the kernel refuses the mount namespace and the
    // run says "not sandboxed" (TheReportSaysHowTargetsWereConfined).
    if (::geteuid() != 0) GTEST_SKIP() << "the sandbox needs CAP_SYS_ADMIN";
    outside_ = dir_.path() + "/outside";
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/precious") << "the user's file\n";
  }
  // Runs the scenario; returns the exit status, with the output in *output.
  int Run(const Commands& c, std::string* output, nlohmann::json* report) {
    std::string out = dir_.path() + "/out";
    Result r = Aftershock("run " + Scenario(dir_, c) + " -j 1 --out " + out);
    *output = r.output;
    *report = Report(out);
    return r.status;
  }
  // A hostile run: refused by the read-only file system, exit 2, and the
  // outside directory as it was.
  void ExpectRefused(const Commands& c) {
    std::string output;
    nlohmann::json report;
    int status = Run(c, &output, &report);
    ExpectOutsideUntouched();
    EXPECT_EQ(status, 2) << output;
    EXPECT_NE(output.find("Read-only file system"), std::string::npos) << output;
  }
  void ExpectOutsideUntouched() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(outside_)) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"precious"});
  }
  ScratchDir dir_;
  std::string outside_;
};

TEST_F(Hostile, ARecoveryDeletingThroughASymlinkLeavesTheDirectoryAndFails) {
  Commands c;
  c.init += " && ln -s " + outside_ + " link";
  c.recover = "rm -rf link/* && " + c.recover;
  ExpectRefused(c);
}

TEST_F(Hostile, WritesByAbsolutePathOutsideTheRootFailAndChangeNothing) {
  for (const char* which : {"init", "recover", "deliver"}) {
    SCOPED_TRACE(which);
    Commands c;
    std::string write = "echo x >> " + outside_ + "/" + which + " && ";
    std::string& cmd = std::string(which) == "init"      ? c.init
                       : std::string(which) == "recover" ? c.recover
                                                         : c.deliver;
    cmd = write + cmd;
    ExpectRefused(c);
  }
}

TEST_F(Hostile, TheReportSaysHowTargetsWereConfined) {
  std::string output;
  nlohmann::json report;
  // Temporary files still work: TMPDIR points into the run directory.
  Commands c;
  c.init = "t=$(mktemp) && echo scratch > \"$t\" && rm \"$t\" && " + c.init;
  ASSERT_EQ(Run(c, &output, &report), 0) << output;
  SKIP_WITHOUT_SANDBOX(report);
  EXPECT_EQ(report.value("sandbox", "").rfind("sandboxed: every file system read-only except ", 0),
            0u)
      << report.value("sandbox", "");
  std::string out = dir_.path() + "/out2";
  Result off = Aftershock("run " + Scenario(dir_, Commands{}) + " -j 1 --no-sandbox --out " + out);
  EXPECT_EQ(off.status, 0) << off.output;
  EXPECT_EQ(Report(out).value("sandbox", "").rfind("not sandboxed (--no-sandbox)", 0), 0u);
  EXPECT_NE(off.output.find("warning: not sandboxed (--no-sandbox)"), std::string::npos)
      << off.output;
}

// How many processes run `sleep SECONDS` (a marker no other test uses).
int Sleepers(const std::string& seconds) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    n += cmdline == std::string("sleep\0", 6) + seconds + std::string("\0", 1);
  }
  return n;
}

// Processes a command leaves running, even in a session of their own, are
// killed when the scenario ends, and the report says how many.
TEST(Leftovers, ProcessesACommandLeftRunningAreKilledAtTheScenariosEnd) {
  ScratchDir dir;
  Commands c;
  c.init = "for i in 1 2 3 4 5; do setsid sleep 3137 </dev/null >/dev/null 2>&1 & done; " + c.init;
  std::string out = dir.path() + "/out";
  Result r = Aftershock("run " + Scenario(dir, c) + " -j 1 --out " + out);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(Sleepers("3137"), 0);
  std::string notes = Report(out)["scenarios"][0]["workload_notes"].dump();
  EXPECT_NE(notes.find("5 process(es) the target's commands left running"), std::string::npos)
      << notes;
}

}  // namespace
}  // namespace aftershock::testing
