// Rewritten call sites (injector/rewrite.cc) and the signal gate
// (injector/signal_gate.cc): calls from a rewritten site are recorded as
// through Syscall User Dispatch, and the target's signal handlers, which
// make recorded calls of their own, neither corrupt the recorder nor lose
// a record. Each test shows, from the counters of the run's shared page,
// that the fast path was taken; with AFTERSHOCK_REWRITE=0 it is not.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "injector/shared_page.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

inject::SharedPage PageOf(const std::string& trace) {
  inject::SharedPage page{};
  int fd = ::open((trace + ".seq").c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << trace << ".seq";
  if (fd >= 0) {
    EXPECT_EQ(::read(fd, &page, sizeof page), static_cast<ssize_t>(sizeof page));
    ::close(fd);
  }
  return page;
}

size_t WritesTo(const Trace& t, const std::string& path) {
  size_t n = 0;
  for (const Op& op : t.ops) n += op.kind == OpKind::kWrite && op.path == path;
  return n;
}

// Rewriting is on unless the environment turns it off (the norewrite suite).
bool RewriteOn() {
  const char* v = std::getenv("AFTERSHOCK_REWRITE");
  return v == nullptr || std::string(v) != "0";
}

TEST(Rewrite, HandlersInterruptingRewrittenCallsLoseNoRecord) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_signals"), "storm"});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << "\n" << run.result.output;
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
  int handled = 0;
  ASSERT_EQ(std::sscanf(run.result.output.c_str(), "handled %d", &handled), 1) << run.result.output;
  EXPECT_GT(handled, 0);
  EXPECT_EQ(WritesTo(run.trace, run.root + "/data"), 20000u);
  EXPECT_EQ(WritesTo(run.trace, run.root + "/signals.log"), static_cast<size_t>(handled));
  struct stat st;
  ASSERT_EQ(::stat((run.root + "/signals.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, handled);
  inject::SharedPage page = PageOf(run.trace_path);
  if (RewriteOn()) {
    EXPECT_GT(page.sites_rewritten, 0u);
    EXPECT_GT(page.fast_calls, 19000u);
  } else {
    EXPECT_EQ(page.fast_calls, 0u);
  }
}

// read(2)'s site is `xor %eax,%eax; syscall`: rewritten through a hop, its
// 5,000 calls take the fast path and return the bytes written.
TEST(Rewrite, ReadsTakeTheFastPathThroughAHop) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_reads")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << "\n" << run.result.output;
  EXPECT_EQ(run.result.output, "read 5000\n");
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
  EXPECT_EQ(WritesTo(run.trace, run.root + "/data"), 50u);
  EXPECT_EQ(WritesTo(run.trace, run.root + "/count"), 1u);
  inject::SharedPage page = PageOf(run.trace_path);
  if (RewriteOn()) {
    EXPECT_GT(page.fast_calls, 4900u) << "read's site was not rewritten";
  } else {
    EXPECT_EQ(page.fast_calls, 0u);
  }
}

// The 64th write's site was rewritten after 32 traps; it is paused
// inside the recorder, and the SIGUSR1 sent meanwhile is held back by the
// gate and handled once the write is done: the handler's own write comes
// after it in the order.
TEST(Rewrite, ASignalArrivingInsideTheRecorderIsHandledAfterTheCall) {
  ScratchDir scratch;
  std::string root = scratch.path() + "/root";
  ::mkdir(root.c_str(), 0755);
  LaunchRequest options;
  options.argv = {Prog("inj_signals"), "held"};
  options.cwd = root;
  options.root = root;
  options.trace_path = scratch.path() + "/trace";
  options.faults = "pause before posix/io/rw/write nth=64";
  options.timeout_ms = 30000;
  RunningCommand command(options);
  ASSERT_TRUE(command.started());
  int pid = command.WaitPausedOrEnded();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGUSR1), 0);
  command.Resume();
  LaunchOutcome r = command.Wait();
  ASSERT_TRUE(r.Succeeded()) << r.Describe() << "\n" << r.output;
  EXPECT_EQ(r.output, "handled 1\n");
  TraceError err;
  auto t = ReadTrace(options.trace_path, &err);
  ASSERT_TRUE(t.has_value()) << err.message;
  uint64_t last = 0, handler = 0;
  int data_writes = 0;
  for (const Op& op : t->ops) {
    if (op.kind != OpKind::kWrite) continue;
    if (op.path == root + "/data" && ++data_writes == 64) last = op.seq;
    if (op.path == root + "/signals.log") handler = op.seq;
  }
  ASSERT_NE(last, 0u);
  ASSERT_NE(handler, 0u);
  EXPECT_LT(last, handler);
  inject::SharedPage page = PageOf(options.trace_path);
  EXPECT_EQ(page.signals_held, RewriteOn() ? 1u : 0u);
}

}  // namespace
}  // namespace aftershock::testing
