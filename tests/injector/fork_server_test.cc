// Fork servers (injector/fork_server.h): a command forked from a server
// behaves as the same command exec'd, and servers end with the launcher.
#include "injector/fork_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/file_io.h"
#include "injector/children.h"
#include "injector/launch.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

std::string Served() { return Prog("inj_served"); }

LaunchRequest Request(const std::string& args, const std::string& cwd, bool server) {
  LaunchRequest o;
  o.command = Served() + " " + args;
  o.cwd = cwd;
  o.env = {{"PATH", "/usr/bin:/bin"}};
  o.fork_server = server;
  return o;
}

TEST(ForkServer, ACommandForkedFromAServerBehavesAsExecd) {
  ASSERT_TRUE(ForkServable(Served()));
  ScratchDir scratch;
  for (int i = 0; i < 3; ++i) {  // a new server, then the same one again
    LaunchRequest o = Request("print one 'two three' " + std::to_string(i), scratch.path(), true);
    o.env.emplace_back("SERVED_VALUE", "v" + std::to_string(i));
    o.has_stdin = true;
    o.stdin_data = "input " + std::to_string(i);
    LaunchOutcome served = Launch(o);
    o.fork_server = false;
    LaunchOutcome execd = Launch(o);
    EXPECT_TRUE(served.forked);
    EXPECT_FALSE(execd.forked);
    EXPECT_TRUE(served.Succeeded()) << served.Describe() << "\n" << served.output;
    EXPECT_EQ(served.output, execd.output);
    EXPECT_NE(served.output.find("constructed 1\n"), std::string::npos) << served.output;
    EXPECT_EQ(served.output.find("env LD_PRELOAD"), std::string::npos) << served.output;
  }
  EXPECT_EQ(ForkServerPids().size(), 1u);
  LaunchOutcome status = Launch(Request("exit 7", scratch.path(), true));
  EXPECT_TRUE(status.forked);
  EXPECT_EQ(status.end, LaunchOutcome::End::kExited);
  EXPECT_EQ(status.code, 7);
  StopForkServers();
  EXPECT_TRUE(ForkServerPids().empty());
}

// Fork, exec, a thread and a change of directory in the forked command.
TEST(ForkServer, ACommandThatForksExecsUsesThreadsAndMovesBehavesAsExecd) {
  std::string out[2];
  for (int served = 0; served < 2; ++served) {
    ScratchDir scratch;
    ASSERT_EQ(::mkdir((scratch.path() + "/sub").c_str(), 0755), 0);
    LaunchOutcome r = Launch(Request("busy", scratch.path(), served == 1));
    EXPECT_EQ(r.forked, served == 1);
    EXPECT_TRUE(r.Succeeded()) << r.Describe() << "\n" << r.output;
    out[served] = r.output + ReadFileBytes(scratch.path() + "/thread.out") +
                  ReadFileBytes(scratch.path() + "/sub/cwd.out");
  }
  EXPECT_EQ(out[0], out[1]);
  EXPECT_NE(out[1].find("from an exec'd child"), std::string::npos) << out[1];
  StopForkServers();
}

TEST(ForkServer, AHungCommandIsKilledAtItsTimeout) {
  ScratchDir scratch;
  LaunchRequest o = Request("hang", scratch.path(), true);
  o.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  LaunchOutcome r = Launch(o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.forked);
  EXPECT_EQ(r.end, LaunchOutcome::End::kTimedOut) << r.Describe();
  EXPECT_LT(s, 30.0);  // the program sleeps 60 s: it was killed, not waited for
  // The server survives its child's timeout and serves the next one.
  EXPECT_TRUE(Launch(Request("exit 0", scratch.path(), true)).Succeeded());
  StopForkServers();
}

TEST(ForkServer, AProgramThatIsNotServableIsExecd) {
  EXPECT_FALSE(ForkServable(Prog("inj_static")));
  EXPECT_FALSE(ForkServable("/bin/sh-that-does-not-exist"));
  LaunchRequest o;
  o.command = "echo 'through a shell' | cat";
  o.fork_server = true;
  LaunchOutcome r = Launch(o);
  EXPECT_FALSE(r.forked);
  EXPECT_EQ(r.output, "through a shell\n");
}

// A Python program served from the point it marks (the deferred mode):
// the same output as exec'd, but that it was forked.
TEST(ForkServer, APythonProgramServedFromItsDeferredPointBehavesAsExecd) {
  const std::string python = "/usr/bin/python3";
  if (!ForkServable(python)) GTEST_SKIP() << python << " cannot be served here";
  ScratchDir scratch;
  std::string script = std::string(std::getenv("AFTERSHOCK_TEST_SOURCES")) + "/served.py";
  for (int i = 0; i < 3; ++i) {
    LaunchRequest o;
    o.command = python + " " + script + " " + std::to_string(i) + " 'word two'";
    o.cwd = scratch.path();
    o.env = {{"PATH", "/usr/bin:/bin"},
             {"PYTHONPATH", std::getenv("AFTERSHOCK_PYTHON_DIR")},
             {"SERVED_VALUE", "v" + std::to_string(i)}};
    o.has_stdin = true;
    o.stdin_data = "input " + std::to_string(i);
    o.fork_server = true;
    o.fork_server_deferred = true;
    LaunchOutcome served = Launch(o);
    o.fork_server = false;
    LaunchOutcome execd = Launch(o);
    EXPECT_TRUE(served.forked);
    EXPECT_EQ(served.end, LaunchOutcome::End::kExited) << served.Describe() << served.output;
    EXPECT_EQ(served.code, i);
    EXPECT_EQ(execd.code, i);
    EXPECT_NE(served.output.find("forked True\n"), std::string::npos) << served.output;
    EXPECT_NE(execd.output.find("forked False\n"), std::string::npos) << execd.output;
    std::string same = execd.output.substr(0, execd.output.find("forked"));
    EXPECT_EQ(served.output.substr(0, served.output.find("forked")), same);
    EXPECT_NE(same.find("env v" + std::to_string(i) + " False"), std::string::npos) << same;
  }
  EXPECT_EQ(ForkServerPids().size(), 1u);
  StopForkServers();
}

// A deferred server whose program never calls the serving point runs to
// its end instead: the command is exec'd, and no server is tried again for
// it.
TEST(ForkServer, AProgramThatNeverServesIsExecdAndNotTriedAgain) {
  ScratchDir scratch;
  size_t started = ForkServersStarted();
  for (int i = 0; i < 3; ++i) {
    LaunchRequest o = Request("exit 4", scratch.path(), true);
    o.fork_server_deferred = true;  // inj_served has no serving point
    LaunchOutcome r = Launch(o);
    EXPECT_FALSE(r.forked);
    EXPECT_EQ(r.code, 4) << r.Describe();
  }
  EXPECT_EQ(ForkServersStarted(), started + 1);
  EXPECT_TRUE(ForkServerPids().empty());
}

// A launcher killed with SIGKILL leaves no server behind: each reads the
// end of file on its socket and exits.
TEST(ForkServer, ServersEndWithTheirLauncher) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t launcher = ::fork();
  if (launcher == 0) {
    ScratchDir scratch;
    LaunchOutcome r = Launch(Request("exit 0", scratch.path(), true));
    std::vector<pid_t> servers = ForkServerPids();
    pid_t server = r.forked && servers.size() == 1 ? servers.front() : -1;
    (void)!::write(report[1], &server, sizeof server);
    ::pause();
    ::_exit(0);
  }
  pid_t server = -1;
  ssize_t n = ::read(report[0], &server, sizeof server);
  ::kill(launcher, SIGKILL);
  ::waitpid(launcher, nullptr, 0);
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof server));
  ASSERT_GT(server, 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(server) + "/stat");
    std::string pid, name, state;
    gone = !(stat >> pid >> name >> state) || state == "Z";
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "server " << server << " outlived its launcher";
  ::waitpid(server, nullptr, WNOHANG);
}

}  // namespace
}  // namespace aftershock::testing
