// Faults from the harness's spec (and libfiu's own control) reach the
// program exactly as specified; the program (progs/faulty.c) reports what
// each call returned.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

const Op* FindOp(const Trace& t, OpKind kind, int nth = 1) {
  for (const Op& op : t.ops) {
    if (op.kind == kind && --nth == 0) return &op;
  }
  return nullptr;
}

class FsyncErrno : public ::testing::TestWithParam<const char*> {};

TEST_P(FsyncErrno, InjectedFsyncFailureReachesTheProgramAndTheTrace) {
  ScratchDir scratch;
  std::string err = GetParam();
  RecordedRun run =
      RecordIn(scratch, {Prog("inj_faulty")}, "fail posix/io/sync/fsync nth=1 errno=" + err);
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe();
  EXPECT_EQ(Lines(run.result.output)[5], "fsync -1 " + err);
  const Op* op = FindOp(run.trace, OpKind::kFsync);
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->Has(trace::kFlagInjected));
  EXPECT_EQ(op->result, -1);
  EXPECT_STREQ(strerrorname_np(op->err), err.c_str());
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

INSTANTIATE_TEST_SUITE_P(Errnos, FsyncErrno, ::testing::Values("EIO", "ENOSPC", "EDQUOT", "EINTR"));

class WriteErrno : public ::testing::TestWithParam<const char*> {};

TEST_P(WriteErrno, OnlyTheNthWriteFailsAndItChangesNothing) {
  ScratchDir scratch;
  std::string err = GetParam();
  RecordedRun run =
      RecordIn(scratch, {Prog("inj_faulty")}, "fail posix/io/rw/write nth=2 errno=" + err);
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe();
  auto lines = Lines(run.result.output);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[1], "write 5");
  EXPECT_EQ(lines[2], "write -1 " + err);
  EXPECT_EQ(lines[3], "write 5");
  const Op* op = FindOp(run.trace, OpKind::kWrite, 2);
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->Has(trace::kFlagInjected));
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

INSTANTIATE_TEST_SUITE_P(Errnos, WriteErrno, ::testing::Values("EIO", "ENOSPC", "EDQUOT", "EINTR"));

TEST(Faults, ShortWriteMovesOnlyTheGivenBytes) {
  ScratchDir scratch;
  RecordedRun run =
      RecordIn(scratch, {Prog("inj_faulty")}, "short posix/io/rw/write nth=2 bytes=3");
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe();
  EXPECT_EQ(Lines(run.result.output)[2], "write 3");
  const Op* op = FindOp(run.trace, OpKind::kWrite, 2);
  ASSERT_NE(op, nullptr);
  EXPECT_TRUE(op->Has(trace::kFlagShort));
  EXPECT_EQ(op->result, 3);
  EXPECT_EQ(op->data, "123");
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

uint64_t SeqOfRename() {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_faulty")});
  const Op* op = FindOp(run.trace, OpKind::kRename);
  return op ? op->seq : 0;
}

TEST(Faults, KillBeforeOpNLeavesTheOpUndone) {
  uint64_t seq = SeqOfRename();
  ASSERT_GT(seq, 0u);
  ScratchDir scratch;
  RecordedRun run =
      RecordIn(scratch, {Prog("inj_faulty")}, "kill before seq=" + std::to_string(seq));
  EXPECT_EQ(run.result.Status(), "signal 9") << run.result.Describe();
  EXPECT_EQ(run.result.output.find("rename"), std::string::npos);
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  const Op& last = run.trace.ops.back();
  EXPECT_EQ(last.seq, seq);
  EXPECT_EQ(last.kind, OpKind::kRename);
  EXPECT_TRUE(last.Has(trace::kFlagKilled));
  EXPECT_TRUE(last.Has(trace::kFlagNotPerformed));
  EXPECT_EQ(::access((run.root + "/data.tmp").c_str(), F_OK), 0);
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(Faults, KillAfterOpNLeavesTheOpDone) {
  uint64_t seq = SeqOfRename();
  ScratchDir scratch;
  RecordedRun run =
      RecordIn(scratch, {Prog("inj_faulty")}, "kill after seq=" + std::to_string(seq));
  EXPECT_EQ(run.result.Status(), "signal 9") << run.result.Describe();
  EXPECT_EQ(run.result.output.find("rename"), std::string::npos);
  const Op& last = run.trace.ops.back();
  EXPECT_EQ(last.seq, seq);
  EXPECT_EQ(last.result, 0);
  EXPECT_TRUE(last.Has(trace::kFlagKilled));
  EXPECT_FALSE(last.Has(trace::kFlagNotPerformed));
  EXPECT_EQ(::access((run.root + "/data").c_str(), F_OK), 0);
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(Faults, KillAtTheNthCallOfAPoint) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_faulty")}, "kill after posix/io/rw/write nth=3");
  EXPECT_EQ(run.result.Status(), "signal 9");
  EXPECT_EQ(Lines(run.result.output).size(), 3u);  // open and two writes reported
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(Faults, NthCountsAcrossProcessesOfTheRun) {
  ScratchDir scratch;
  std::string p = Prog("inj_faulty");
  RecordedRun run =
      RecordIn(scratch, {"sh:" + p + "; " + p}, "fail posix/io/sync/fsync nth=2 errno=EIO");
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe();
  auto lines = Lines(run.result.output);
  ASSERT_EQ(lines.size(), 16u);
  EXPECT_EQ(lines[5], "fsync 0");
  EXPECT_EQ(lines[13], "fsync -1 EIO");
}

TEST(Faults, LibfiuEnableEnvironmentStillWorks) {
  ScratchDir scratch;
  std::string root = scratch.path() + "/root";
  ::mkdir(root.c_str(), 0755);
  LaunchRequest o;
  o.argv = {Prog("inj_faulty")};
  o.cwd = o.root = root;
  o.trace_path = scratch.path() + "/trace";
  o.env = {{"FIU_ENABLE", "enable name=posix/io/sync/fsync,failinfo=28"}};
  LaunchOutcome r = Launch(o);
  ASSERT_TRUE(r.Succeeded()) << r.Describe() << r.output;
  EXPECT_EQ(Lines(r.output)[5], "fsync -1 ENOSPC");
}

TEST(Faults, FiuCtrlEnablesAPointInARunningTarget) {
  ScratchDir scratch;
  std::string root = scratch.path() + "/root";
  ::mkdir(root.c_str(), 0755);
  std::string base = scratch.path() + "/fiu";
  LaunchRequest o;
  o.argv = {Prog("inj_faulty")};
  o.cwd = o.root = root;
  o.trace_path = scratch.path() + "/trace";
  std::string go = scratch.path() + "/go";
  o.env = {{"AFTERSHOCK_FIU_CTRL", base}, {"FAULTY_WAIT_FOR", go}};
  o.timeout_ms = 20000;
  LaunchOutcome r;
  std::thread runner([&] { r = Launch(o); });
  // The target's control fifo is <base>-<pid>.in once its constructor ran.
  std::string pid;
  for (int i = 0; i < 200 && pid.empty(); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(scratch.path())) {
      std::string n = e.path().filename().string();
      if (n.rfind("fiu-", 0) == 0 && n.size() > 7 && n.substr(n.size() - 3) == ".in") {
        pid = n.substr(4, n.size() - 7);
      }
    }
    if (pid.empty()) ::usleep(10000);
  }
  ASSERT_FALSE(pid.empty());
  std::string cmd = "fiu-ctrl -c 'enable name=posix/io/sync/fsync,failinfo=28' -f " + base + " " +
                    pid + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ofstream(go) << "go";
  runner.join();
  ASSERT_TRUE(r.Succeeded()) << r.Describe() << r.output;
  EXPECT_EQ(Lines(r.output)[5], "fsync -1 ENOSPC");
}

TEST(Faults, BadSpecIsReportedAndInjectsNothing) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_faulty")}, "fail posix/io/rw/write nth=1");
  ASSERT_TRUE(run.result.Succeeded());
  EXPECT_NE(run.result.output.find("errno"), std::string::npos);
  bool gap = false;
  for (const Op& op : run.trace.ops) gap |= op.kind == OpKind::kGap;
  EXPECT_TRUE(gap);
  EXPECT_EQ(Lines(run.result.output).back(), "rename 0");
}

}  // namespace
}  // namespace aftershock::testing
