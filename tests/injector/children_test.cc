// The orphans aftershock adopts are reaped at once (injector/children.h):
// a command that stops a daemon it started and waits for it with
// `kill -0 PID` (Postfix's stop, most init scripts) sees it gone, where a
// zombie would make it wait forever. The commands aftershock forks itself
// keep their exit status.
#include "injector/children.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "injector/launch.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

// The daemon is a grandchild whose parent exits at once: it is re-parented
// to this process (the subreaper). Killed, it must not stay a zombie.
constexpr const char* kStopsItsDaemon =
    "sh -c 'sleep 30 & echo $! > daemon.pid'; p=$(cat daemon.pid); kill $p; "
    "for i in $(seq 250); do kill -0 $p 2>/dev/null || exit 0; sleep 0.02; done; "
    "echo \"daemon $p still there\"; exit 7";

TEST(Children, AnAdoptedDaemonThatIsStoppedIsReapedAtOnce) {
  AdoptLeftovers();  // subreaper and orphan reaper, as a run does
  ScratchDir scratch;
  LaunchRequest o;
  o.command = kStopsItsDaemon;
  o.cwd = scratch.path();
  LaunchOutcome r = Launch(o);
  EXPECT_TRUE(r.Succeeded()) << r.Describe() << "\n" << r.output;
}

TEST(Children, OwnChildrenKeepTheirStatus) {
  AdoptLeftovers();
  for (int i = 0; i < 20; ++i) {  // the reaper runs beside every one of them
    LaunchRequest o;
    o.command = "exit " + std::to_string(i % 5);
    LaunchOutcome r = Launch(o);
    EXPECT_EQ(r.code, i % 5) << r.Describe();
  }
}

// SpawnChild's child runs in the spawner's memory (no page tables copied,
// whatever the heap's size) and the spawner waits until it has exited or
// exec'd. This child breaks SpawnChild's rule on purpose, to show it.
int WritesTheSpawnersMemory(void* p) {
  *static_cast<volatile int*>(p) = 42;
  ::_exit(0);
}

TEST(Children, ASpawnedChildSharesMemoryAndItsSpawnerWaits) {
  if (!kSpawnSharesMemory) GTEST_SKIP() << "the AddressSanitizer build forks (children.h)";
  int seen = 0;
  pid_t pid = SpawnChild(WritesTheSpawnersMemory, &seen);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(seen, 42);  // already written: the spawner waited for it
  int status = -1;
  ASSERT_EQ(WaitChild(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void Handler(int) {}

// Exits 0 when SIGUSR1 has the default disposition (the spawner's handler
// would run in the spawner's memory) and the spawner's mask holds: SIGUSR2
// blocked, SIGUSR1 not.
int ChecksSignals(void*) {
  struct sigaction sa = {};
  if (::sigaction(SIGUSR1, nullptr, &sa) != 0 || sa.sa_handler != SIG_DFL) ::_exit(1);
  sigset_t mask;
  ::sigprocmask(SIG_SETMASK, nullptr, &mask);
  if (!::sigismember(&mask, SIGUSR2)) ::_exit(2);
  if (::sigismember(&mask, SIGUSR1)) ::_exit(3);
  ::_exit(0);
}

TEST(Children, ASpawnedChildHasDefaultHandlersAndItsSpawnersMask) {
  struct sigaction sa = {}, old_usr1 = {};
  sa.sa_handler = Handler;
  ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old_usr1), 0);
  sigset_t usr2, old_mask;
  ::sigemptyset(&usr2);
  ::sigaddset(&usr2, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &usr2, &old_mask);
  pid_t pid = SpawnChild(ChecksSignals, nullptr);
  int status = -1;
  if (pid > 0) WaitChild(pid, &status, 0);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGUSR1, &old_usr1, nullptr);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: handler kept, 2: mask lost, 3: USR1 blocked";
  // The spawner's own mask is back as it was.
  sigset_t now;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &now);
  EXPECT_TRUE(::sigismember(&now, SIGUSR2) == ::sigismember(&old_mask, SIGUSR2));
}

// Launches from several threads at once (as the workers of a run do) each
// get their own command, output and status: no child writes memory another
// spawn reads.
TEST(Children, ConcurrentLaunchesKeepTheirOwnOutputAndStatus) {
  AdoptLeftovers();
  constexpr int kThreads = 4, kEach = 15;
  std::vector<std::string> wrong[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < kEach; ++i) {
        LaunchRequest o;
        o.command = "echo t" + std::to_string(t) + "-" + std::to_string(i) + "; exit " +
                    std::to_string((t + i) % 7);
        o.capture_output = true;
        LaunchOutcome r = Launch(o);
        std::string want = "t" + std::to_string(t) + "-" + std::to_string(i) + "\n";
        if (r.code != (t + i) % 7 || r.output != want) {
          wrong[t].push_back(o.command + " -> " + r.Describe() + " " + r.output);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_TRUE(wrong[t].empty()) << wrong[t].front();
}

}  // namespace
}  // namespace aftershock::testing
