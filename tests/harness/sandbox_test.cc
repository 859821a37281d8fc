// The sandbox (injector/sandbox.h, docs/cli.md): a target's commands see
// every file system read-only outside the run directory. A recovery that
// deletes through a symlink to a directory outside its root, and init,
// recover or deliver writing by an absolute path outside, leave the user's
// files as they were and fail, with the command's own error shown.
// --no-sandbox turns it off, and the report says so.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

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
std::string Scenario(const ScratchDir& dir, const Commands& c, int timeout_s = 10) {
  dir.Write("m.toml", "name = \"hostile\"\n[commands]\ninit = '" + c.init + "'\nenqueue = 'sh " +
                          kShellq + " enqueue'\ndeliver = '" + c.deliver + "'\nrecover = '" +
                          c.recover + "'\ntimeout_s = " + std::to_string(timeout_s) +
                          "\n[mailbox]\nkind = \"sink\"\n");
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
#define SKIP_WITHOUT_SANDBOX(report)                                                 \
  do {                                                                               \
    std::string how = (report).value("sandbox", "");                                 \
    if (how.rfind("not sandboxed (", 0) == 0) GTEST_SKIP() << "no sandbox: " << how; \
  } while (0)

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    // Without CAP_SYS_ADMIN the kernel refuses the mount namespace and the
    // run says "not sandboxed" (TheReportSaysHowTargetsWereConfined).
    if (::geteuid() != 0) GTEST_SKIP() << "the sandbox needs CAP_SYS_ADMIN";
    // Not under /tmp or /dev/shm: commands get private ones of those.
    char tmpl[] = "/var/tmp/aftershock-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    outside_ = std::string(tmpl) + "/outside";
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/precious") << "the user's file\n";
  }
  void TearDown() override {
    std::error_code ec;
    if (!outside_.empty()) fs::remove_all(fs::path(outside_).parent_path(), ec);
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

// /tmp and /dev/shm are the command's own: what it writes there is gone
// when it ends, and what others left there (a test's scratch directory)
// is out of its sight.
TEST_F(Hostile, TmpAndDevShmArePrivateToEachCommand) {
  std::string output;
  nlohmann::json report;
  ScratchDir shm;  // /dev/shm/aftershock-test-*
  shm.Write("precious", "the user's file\n");
  Commands c;
  c.init =
      "echo left > /tmp/aftershock-test-left && test ! -e " + shm.path() + "/precious && " + c.init;
  c.recover = "test ! -e /tmp/aftershock-test-left && " + c.recover;
  ASSERT_EQ(Run(c, &output, &report), 0) << output;
  SKIP_WITHOUT_SANDBOX(report);
  EXPECT_NE(report.value("sandbox", "").find("private /tmp and /dev/shm"), std::string::npos);
  EXPECT_FALSE(fs::exists("/tmp/aftershock-test-left"));
  EXPECT_TRUE(fs::exists(shm.path() + "/precious"));
}

// Interfaces this process sees (lines of /proc/net/dev naming one).
int Interfaces() {
  std::ifstream in("/proc/net/dev");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += line.find(':') != std::string::npos;
  return n;
}

// No network unless the manifest asks for it: a command sees loopback only
// (up: a target may talk to itself on 127.0.0.1); `commands.network = true`
// keeps the machine's interfaces.
TEST_F(Hostile, CommandsSeeOnlyLoopbackUnlessTheManifestAsksForTheNetwork) {
  if (Interfaces() < 2) GTEST_SKIP() << "this machine has no interface besides loopback";
  const std::string loopback_works =
      "python3 -c \"import socket; s = socket.socket(); s.bind((\\\"127.0.0.1\\\", 0)); "
      "s.listen(); "
      "socket.create_connection(s.getsockname())\"";
  Commands c;
  c.init = "test $(grep -c : /proc/net/dev) -eq 1 && " + loopback_works + " && " + c.init;
  std::string output;
  nlohmann::json report;
  ASSERT_EQ(Run(c, &output, &report), 0) << output;
  SKIP_WITHOUT_SANDBOX(report);
  EXPECT_NE(report.value("sandbox", "").find("loopback only"), std::string::npos);
  Commands open;
  open.init = "test $(grep -c : /proc/net/dev) -gt 1 && " + open.init;
  std::string scenario = Scenario(dir_, open);
  std::string manifest = dir_.path() + "/m.toml";
  std::string text;
  {
    std::ifstream in(manifest);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  text.replace(text.find("timeout_s"), 0, "network = true\n");
  std::ofstream(manifest) << text;
  Result r = Aftershock("run " + scenario + " -j 1 --out " + dir_.path() + "/out-net");
  EXPECT_EQ(r.status, 0) << r.output;
}

// How many processes run `sleep SECONDS` (a marker no other test uses).
int Sleepers(const std::string& seconds) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    // read(2), not a stream: a process that ends meanwhile fails the read
    // with ESRCH, which a stream would throw.
    int fd = ::open((e.path() / "cmdline").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[256];
    ssize_t len = ::read(fd, buf, sizeof buf);
    ::close(fd);
    std::string cmdline(buf, len > 0 ? static_cast<size_t>(len) : 0);
    n += cmdline == std::string("sleep\0", 6) + seconds + std::string("\0", 1);
  }
  return n;
}

// Processes a command leaves running, even in a session of their own, are
// killed: at the command's end in its control group, else when the scenario
// ends (and the report says how many).
TEST(Leftovers, ProcessesACommandLeftRunningAreKilled) {
  ScratchDir dir;
  Commands c;
  c.init = "for i in 1 2 3 4 5; do setsid sleep 3137 </dev/null >/dev/null 2>&1 & done; " + c.init;
  std::string out = dir.path() + "/out";
  Result r = Aftershock("run " + Scenario(dir, c) + " -j 1 --out " + out);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(Sleepers("3137"), 0);
  // Unsandboxed, no control group: the scenario's end finds them.
  Result off = Aftershock("run " + Scenario(dir, c) + " -j 1 --no-sandbox --out " + out + "2");
  EXPECT_EQ(off.status, 0) << off.output;
  EXPECT_EQ(Sleepers("3137"), 0);
  std::string notes = Report(out + "2")["scenarios"][0]["workload_notes"].dump();
  // (How many of the 5 had left the process group before the command's end,
  // and so outlived it, is up to the scheduler.)
  EXPECT_NE(notes.find("process(es) the target's commands left running"), std::string::npos)
      << notes;
}

// An ordinary user's run is sandboxed too: aftershock makes a user
// namespace (keeping the user's uid) in which it may make the others. A
// directory the user may write to stays as it was.
TEST(Unprivileged, AnOrdinaryUsersRunIsSandboxedInAUserNamespace) {
  if (::geteuid() != 0 || ::access("/usr/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "needs root to become nobody (setpriv)";
  }
  const std::string as_nobody = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups ";
  if (Shell(as_nobody + "unshare -U -r -m -p -f true").status != 0) {
    GTEST_SKIP() << "this kernel gives ordinary users no user namespace";
  }
  char tmpl[] = "/var/tmp/aftershock-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, outside = dir + "/outside";
  fs::create_directories(outside);
  std::ofstream(outside + "/precious") << "nobody's file\n";
  ScratchDir scenario_dir;
  Commands c;
  c.recover = "echo x >> " + outside + "/precious && " + c.recover;
  std::string scenario = Scenario(scenario_dir, c);
  for (const std::string& p : {dir, outside, outside + "/precious", scenario_dir.path()}) {
    fs::permissions(p, fs::perms::all);
  }
  Result r = Shell("cd " + dir + " && " + as_nobody + AFTERSHOCK_EXE + " run " + scenario +
                   " -j 1 --out " + dir + "/out");
  std::ifstream in(outside + "/precious");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "nobody's file\n");
  std::string how = Report(dir + "/out").value("sandbox", "");
  std::error_code ec;
  fs::remove_all(dir, ec);
  EXPECT_EQ(how.rfind("sandboxed: ", 0), 0u) << how;
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
  EXPECT_NE(how.find("in the run's PID namespace"), std::string::npos) << how;
}

// Run directories (/dev/shm/aftershock-<pid>-<hex>) that no live run holds.
std::set<std::string> DeadRunDirs() {
  std::set<std::string> dead;
  for (const auto& e : fs::directory_iterator("/dev/shm")) {
    std::string name = e.path().filename();
    if (name.rfind("aftershock-", 0) != 0 || name.find("-test-") != std::string::npos) continue;
    int fd = ::open((e.path() / "lock").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) dead.insert(name);
    ::close(fd);
  }
  return dead;
}

// A command that runs into a limit fails its step, says which limit, and
// leaves nothing running and nothing in /dev/shm.
class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the sandbox needs CAP_SYS_ADMIN";
    dead_before_ = DeadRunDirs();
  }
  Result RunWith(const Commands& c, const std::string& flags) {
    return Aftershock("run " + Scenario(dir_, c) + " -j 1 " + flags + " --out " + dir_.path() +
                      "/out");
  }
  void ExpectNothingLeft(const std::string& sleep_marker) {
    EXPECT_EQ(Sleepers(sleep_marker), 0);
    for (const std::string& d : DeadRunDirs()) EXPECT_TRUE(dead_before_.count(d)) << d << " left";
  }
  ScratchDir dir_;
  std::set<std::string> dead_before_;
};

TEST_F(Limits, WritingTwoGiBIntoOneFileRunsIntoTheFileSizeLimit) {
  Commands c;
  c.init = "dd if=/dev/zero of=big bs=1M count=2048 2>/dev/null && " + c.init;
  Result r = RunWith(c, "--max-file-size 64");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("ran into the file size limit of 64 MiB"), std::string::npos) << r.output;
  ExpectNothingLeft("3136");
}

TEST_F(Limits, WritingTwoGiBIntoManyFilesFillsOnlyTheRunsScratch) {
  Commands c;
  c.init =
      "i=0; while [ $i -lt 32 ]; do dd if=/dev/zero of=f$i bs=1M count=64 2>&1 || exit 1;"
      " i=$((i+1)); done; " +
      c.init;
  Result r = RunWith(c, "--max-scratch 256");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("No space left on device"), std::string::npos) << r.output;
  ExpectNothingLeft("3136");
}

TEST_F(Limits, FiveHundredSetsidSleepersRunIntoTheProcessLimitAndAreKilled) {
  Commands c;
  c.init =
      "i=0; while [ $i -lt 500 ]; do setsid sleep 3138 </dev/null >/dev/null 2>&1 & "
      "i=$((i+1)); done; false";
  Result r = RunWith(c, "--max-processes 100");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("ran into the limit of 100 processes"), std::string::npos) << r.output;
  ExpectNothingLeft("3138");
}

TEST_F(Limits, ARecoveryThatIgnoresSigtermIsKilledAtItsTimeout) {
  Commands c;
  c.recover = "trap \"\" TERM; setsid sleep 3139 & sleep 3139";
  std::string scenario = Scenario(dir_, c, 1);
  Result r = Aftershock("run " + scenario + " -j 1 --model process --out " + dir_.path() + "/out");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("timeout"), std::string::npos) << r.output;
  ExpectNothingLeft("3139");
}

// SIGKILL of aftershock itself while a recovery hangs: the kernel ends the
// run's PID namespace, and every process in it.
TEST(Killed, SigkillOfAftershockDuringAHangingRecoverLeavesNoProcess) {
  if (::geteuid() != 0) GTEST_SKIP() << "the PID namespace needs CAP_SYS_ADMIN";
  ScratchDir dir;
  Commands c;
  c.recover = "setsid sleep 3140 </dev/null >/dev/null 2>&1 & sleep 3141";
  std::string scenario = Scenario(dir, c);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(AFTERSHOCK_EXE, AFTERSHOCK_EXE, "run", scenario.c_str(), "-q", "--out",
            (dir.path() + "/out").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 3000 && (Sleepers("3141") == 0 || Sleepers("3140") == 0); ++i)
    ::usleep(10000);
  ASSERT_EQ(Sleepers("3141"), 1) << "the recovery never started";
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  for (int i = 0; i < 500 && Sleepers("3140") + Sleepers("3141") > 0; ++i) ::usleep(10000);
  EXPECT_EQ(Sleepers("3140"), 0);
  EXPECT_EQ(Sleepers("3141"), 0);
}

}  // namespace
}  // namespace aftershock::testing
