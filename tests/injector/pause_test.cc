// Pause rules: a traced process holds before the named call until the
// harness resumes it (injector/launch.h RunningCommand), whichever process
// of the command makes the call; the harness can act in between.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "injector/marks.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

off_t SizeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

struct PausedRun {
  ScratchDir scratch;
  std::string root;
  std::string trace;
  LaunchRequest options;
  explicit PausedRun(const std::string& faults, const std::string& shell = "") {
    root = scratch.path() + "/root";
    ::mkdir(root.c_str(), 0755);
    trace = scratch.path() + "/trace";
    if (shell.empty()) {
      options.argv = {Prog("inj_pausing")};
    } else {
      options.command = shell;
    }
    options.cwd = root;
    options.root = root;
    options.trace_path = trace;
    options.faults = faults;
    options.timeout_ms = 30000;
  }
  Trace Read() {
    TraceError err;
    auto t = ReadTrace(trace, &err);
    EXPECT_TRUE(t.has_value()) << err.message;
    return t ? *t : Trace{};
  }
};

// The seq of the first op of `kind` (0 if none).
uint64_t SeqOf(const Trace& t, OpKind kind, int nth = 1) {
  for (const Op& op : t.ops) {
    if (op.kind == kind && --nth == 0) return op.seq;
  }
  return 0;
}

uint64_t MarkSeq(const Trace& t, const std::string& label) {
  for (const Op& op : t.ops) {
    if (op.kind == OpKind::kMark && op.path == label) return op.seq;
  }
  return 0;
}

TEST(Pause, ProcessHoldsBeforeTheNthWriteUntilResumed) {
  PausedRun s("pause before posix/io/rw/write nth=2");
  RunningCommand command(s.options);
  ASSERT_TRUE(command.started());
  int pid = command.WaitPausedOrEnded();
  ASSERT_GT(pid, 0);
  // Held before the second write: the first one is done, the second not.
  EXPECT_EQ(SizeOf(s.root + "/a"), 3);
  EXPECT_FALSE(Exists(s.root + "/b"));
  Trace during = s.Read();
  EXPECT_NE(SeqOf(during, OpKind::kWrite, 1), 0u);
  EXPECT_EQ(SeqOf(during, OpKind::kWrite, 2), 0u);
  // What the harness does meanwhile comes before the held call in the order.
  ASSERT_TRUE(AppendMark(s.trace, "step", "restart"));
  command.Resume();
  LaunchOutcome r = command.Wait();
  EXPECT_TRUE(r.Succeeded()) << r.Describe() << r.output;
  EXPECT_EQ(r.output, "done\n");
  EXPECT_TRUE(Exists(s.root + "/b"));
  Trace after = s.Read();
  uint64_t mark = MarkSeq(after, "step");
  ASSERT_NE(mark, 0u);
  EXPECT_LT(SeqOf(after, OpKind::kWrite, 1), mark);
  EXPECT_GT(SeqOf(after, OpKind::kWrite, 2), mark);
  for (const Op& op : after.ops) {
    if (op.kind == OpKind::kWrite) {
      EXPECT_EQ(op.pid, pid);
    }
  }
}

TEST(Pause, StarPausesBeforeTheFirstRecordedCall) {
  PausedRun s("pause before * nth=1");
  RunningCommand command(s.options);
  ASSERT_GT(command.WaitPausedOrEnded(), 0);
  EXPECT_FALSE(Exists(s.root + "/a"));  // the open that creates it is held
  command.Resume();
  EXPECT_TRUE(command.Wait().Succeeded());
  EXPECT_TRUE(Exists(s.root + "/b"));
}

TEST(Pause, GrandchildOfTheShellIsPausedAndResumed) {
  PausedRun s("pause before posix/io/sync/fsync",
              "echo start; " + Prog("inj_pausing") + "; echo end");
  RunningCommand command(s.options);
  int pid = command.WaitPausedOrEnded();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(SizeOf(s.root + "/a"), 5);
  EXPECT_FALSE(Exists(s.root + "/b"));
  command.Resume();
  LaunchOutcome r = command.Wait();
  EXPECT_TRUE(r.Succeeded()) << r.Describe();
  EXPECT_EQ(r.output, "start\ndone\nend\n");
  Trace t = s.Read();
  uint64_t fsync_seq = SeqOf(t, OpKind::kFsync);
  ASSERT_NE(fsync_seq, 0u);
  for (const Op& op : t.ops) {
    if (op.seq == fsync_seq) {
      EXPECT_EQ(op.pid, pid);
    }
  }
}

TEST(Pause, ChildInASessionOfItsOwnIsStillPausedAndResumed) {
  PausedRun s("pause before posix/io/sync/fsync", "setsid " + Prog("inj_pausing"));
  RunningCommand command(s.options);
  int pid = command.WaitPausedOrEnded();
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::getsid(pid), pid);  // it leads a session of its own
  EXPECT_FALSE(Exists(s.root + "/b"));
  command.Resume();
  LaunchOutcome r = command.Wait();
  EXPECT_TRUE(r.Succeeded()) << r.Describe();
  EXPECT_TRUE(Exists(s.root + "/b"));
}

TEST(Pause, CommandThatNeverReachesThePointJustEnds) {
  PausedRun s("pause before posix/io/rw/write nth=3");
  RunningCommand command(s.options);
  EXPECT_EQ(command.WaitPausedOrEnded(), 0);
  LaunchOutcome r = command.Wait();
  EXPECT_TRUE(r.Succeeded()) << r.Describe();
  EXPECT_TRUE(Exists(s.root + "/b"));
}

TEST(Pause, WaitResumesAPauseNobodyWaitsFor) {
  // Launch() (blocking) with a pause rule must not hang.
  PausedRun s("pause before posix/io/rw/write");
  LaunchOutcome r = Launch(s.options);
  EXPECT_TRUE(r.Succeeded()) << r.Describe();
  EXPECT_EQ(SizeOf(s.root + "/b"), 5);
}

TEST(Pause, ACommandBesideOnTheSameTraceLeavesThePauseAlone) {
  PausedRun s("pause before posix/io/rw/write nth=2");
  RunningCommand command(s.options);
  ASSERT_GT(command.WaitPausedOrEnded(), 0);
  LaunchRequest beside = s.options;
  beside.argv.clear();
  beside.command = "echo x > c";
  beside.faults.clear();
  ASSERT_TRUE(Launch(beside).Succeeded());
  // Still held: the second write has not happened.
  EXPECT_EQ(SizeOf(s.root + "/a"), 3);
  EXPECT_FALSE(Exists(s.root + "/b"));
  command.Resume();
  EXPECT_TRUE(command.Wait().Succeeded());
  Trace t = s.Read();
  uint64_t beside_open = 0;
  for (const Op& op : t.ops) {
    if (op.kind == OpKind::kOpen && op.path == s.root + "/c") beside_open = op.seq;
  }
  ASSERT_NE(beside_open, 0u);
  EXPECT_LT(beside_open, SeqOf(t, OpKind::kWrite, 2));
}

TEST(Pause, RecordCommandNeverHangsOnAPauseRule) {
  const char* exe = std::getenv("AFTERSHOCK_EXE");
  if (exe == nullptr) GTEST_SKIP() << "AFTERSHOCK_EXE not set";
  PausedRun s("");
  std::string cmd = "cd " + s.root + " && " + exe + " record --out " + s.trace +
                    " --faults 'pause before *' --timeout 30 -- " + Prog("inj_pausing") +
                    " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(SizeOf(s.root + "/b"), 5);
}

TEST(Pause, EveryHitPausesWithoutNth) {
  PausedRun s("pause before posix/io/rw/write");
  RunningCommand command(s.options);
  int pauses = 0;
  while (command.WaitPausedOrEnded() != 0) {
    ++pauses;
    command.Resume();
  }
  EXPECT_EQ(pauses, 2);
  EXPECT_TRUE(command.Wait().Succeeded());
}

TEST(Pause, DestroyingAPausedCommandKillsIt) {
  PausedRun s("pause before posix/io/dir/*");
  {
    RunningCommand command(s.options);
    ASSERT_GT(command.WaitPausedOrEnded(), 0);
  }
  EXPECT_FALSE(Exists(s.root + "/b"));
  EXPECT_TRUE(Exists(s.root + "/a"));
}

// The harness SIGKILLed while its command is paused: nobody will resume
// it, so the paused process must not wait forever.
TEST(Pause, PausedProcessWhoseControllerDiedKillsItself) {
  PausedRun s("pause before posix/io/dir/*");
  // Orphans are reparented to this process, so it can reap the paused one.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t controller = ::fork();
  ASSERT_GE(controller, 0);
  if (controller == 0) {
    RunningCommand command(s.options);
    int paused = command.WaitPausedOrEnded();
    if (::write(fds[1], &paused, sizeof paused) != sizeof paused) ::_exit(1);
    for (;;) ::pause();
  }
  int paused = 0;
  ASSERT_EQ(::read(fds[0], &paused, sizeof paused), static_cast<ssize_t>(sizeof paused));
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_GT(paused, 0);
  ::kill(controller, SIGKILL);
  ::waitpid(controller, nullptr, 0);
  // Poll (not a timing assertion: the bound only keeps a broken build from hanging).
  int status = 0;
  pid_t reaped = 0;
  for (int i = 0; i < 600 && reaped == 0; ++i) {
    reaped = ::waitpid(paused, &status, WNOHANG);
    if (reaped == 0) ::usleep(50 * 1000);
  }
  if (reaped == 0) {
    ::kill(paused, SIGKILL);
    ::waitpid(paused, nullptr, 0);
  }
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  ASSERT_EQ(reaped, paused) << "the paused process still waits for a dead controller";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(Exists(s.root + "/b"));  // it never made the paused call
}

TEST(Pause, PauseBeforeSeqHoldsTheCallThatWouldTakeIt) {
  // First learn the seq of the fsync, then pause before it.
  PausedRun first("");
  ASSERT_TRUE(Launch(first.options).Succeeded());
  uint64_t fsync_seq = SeqOf(first.Read(), OpKind::kFsync);
  ASSERT_NE(fsync_seq, 0u);
  PausedRun s("pause before seq=" + std::to_string(fsync_seq));
  RunningCommand command(s.options);
  ASSERT_GT(command.WaitPausedOrEnded(), 0);
  Trace during = s.Read();
  EXPECT_EQ(SeqOf(during, OpKind::kFsync), 0u);
  EXPECT_NE(SeqOf(during, OpKind::kWrite, 2), 0u);
  command.Resume();
  EXPECT_TRUE(command.Wait().Succeeded());
}

TEST(Count, CountRuleCountsCallsOfItsPointAndChangesNothing) {
  PausedRun s("fail aftershock/none errno=EIO; count posix/io/rw/write");
  RunningCommand command(s.options);
  EXPECT_EQ(command.WaitPausedOrEnded(), 0);
  EXPECT_TRUE(command.Wait().Succeeded());
  EXPECT_EQ(command.RuleHits(1), 2u);
  EXPECT_EQ(SizeOf(s.root + "/b"), 5);
}

}  // namespace
}  // namespace aftershock::testing
