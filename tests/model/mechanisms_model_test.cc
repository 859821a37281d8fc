// The model's side of the durability mechanisms (docs/models.md,
// "Durability mechanisms") and of recorder gaps: hand-written traces, the
// exact choices each model offers. The end-to-end golden programs are in
// tests/mechanisms/.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "model/crash_states.h"
#include "model/trace_builder.h"
#include "tests/model/crash_test_util.h"

namespace aftershock {
namespace {

using Map = std::map<std::string, std::string>;

FsState WithDir(const std::string& dir) {
  FsState s;
  EXPECT_TRUE(s.AddDirectory(dir, 0755).ok());
  return s;
}

// An op on the file of the op at `like` (same path and dev/ino).
Op On(const Op& like, OpKind kind, uint64_t seq) {
  Op op;
  op.kind = kind;
  op.seq = seq;
  op.pid = like.pid;
  op.tid = like.tid;
  op.path = like.path;
  op.dev = like.dev;
  op.ino = like.ino;
  return op;
}

bool Has(const Map& m, const std::string& id) { return m.count(id) != 0; }

TEST(Mechanisms, AnODsyncWriteIsDurableWhenItReturns) {
  FsState init = WithDir("q");
  for (uint32_t flag : {uint32_t{O_DSYNC}, uint32_t{O_SYNC}}) {
    TraceBuilder t("/r", &init);
    int fd = t.Create("q/f");  // 2
    t.Write(fd, "data");       // 3
    t.ops().back().oflags = O_WRONLY | flag;
    Map posix = Golden(init, t.ops(), "posix");
    EXPECT_FALSE(Has(posix, "p3-d3")) << flag;  // the write cannot be dropped
    EXPECT_TRUE(Has(posix, "p3-d2")) << flag;   // its name can: not a directory fsync
    Map ext4 = Golden(init, t.ops(), "ext4-ordered");
    EXPECT_FALSE(Has(ext4, "p3-d3")) << flag;
    EXPECT_FALSE(Has(ext4, "p3-d2")) << flag;  // the sync commits the journal
  }
}

TEST(Mechanisms, ARangedSyncLeavesOtherDirtyPagesOfTheFilePending) {
  FsState init = WithDir("q");
  TraceBuilder t("/r", &init);
  int fd = t.Create("q/f");  // 2
  t.Fsync(fd);               // 3
  t.Pwrite(fd, 0, "A");      // 4: plain
  t.Pwrite(fd, 8192, "B");   // 5: pwritev2(RWF_DSYNC)
  t.ops().back().sysno = SYS_pwritev2;
  t.ops().back().mode = RWF_DSYNC;
  Map posix = Golden(init, t.ops(), "posix");
  EXPECT_TRUE(Has(posix, "p5-d4"));   // page 0 was never synced
  EXPECT_FALSE(Has(posix, "p5-d5"));  // page 2 was
  // Without the flag, the same pwritev2 is an ordinary write.
  t.ops().back().mode = 0;
  EXPECT_TRUE(Has(Golden(init, t.ops(), "posix"), "p5-d5"));
}

TEST(Mechanisms, MsyncMsSyncMakesTheMappedStoresDurableMsAsyncDoesNot) {
  FsState init = WithDir("q");
  for (uint32_t flags : {uint32_t{MS_SYNC}, uint32_t{MS_ASYNC}}) {
    TraceBuilder t("/r", &init);
    int fd = t.Create("q/f", 0600, O_RDWR);  // 2
    t.Ftruncate(fd, 5);                      // 3
    t.Fsync(fd);                             // 4
    Op store = On(t.ops().back(), OpKind::kWrite, 5);
    store.fd = -1;
    store.flags = trace::kFlagMapped;
    store.data = "hello";
    store.length = store.result = 5;
    Op msync = On(t.ops().back(), OpKind::kMsync, 6);
    msync.oflags = flags;
    msync.length = 4096;
    std::vector<Op> ops = t.ops();
    Op ack;  // a crash point after the msync
    ack.kind = OpKind::kMark;
    ack.seq = 7;
    ack.path = "ack";
    ack.data = "m1 alice@local";
    ops.push_back(store);
    ops.push_back(msync);
    ops.push_back(ack);
    Map posix = Golden(init, ops, "posix");
    EXPECT_EQ(posix["p5"], "q/f=hello");
    EXPECT_EQ(Has(posix, "p7-d5"), flags == MS_ASYNC) << flags;
  }
}

TEST(Mechanisms, FallocateZeroRangeAndPunchHoleZeroTheirBytesAsAPendingWrite) {
  FsState init = WithDir("q");
  for (uint32_t mode :
       {uint32_t{FALLOC_FL_ZERO_RANGE}, uint32_t{FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE}}) {
    TraceBuilder t("/r", &init);
    int fd = t.Create("q/f");  // 2
    t.Write(fd, "abcdef");     // 3
    t.Fsync(fd);               // 4
    Op fa = On(t.ops().back(), OpKind::kFallocate, 5);
    fa.fd = fd;
    fa.oflags = mode;
    fa.offset = 1;
    fa.length = 2;
    std::vector<Op> ops = t.ops();
    ops.push_back(fa);
    Map posix = Golden(init, ops, "posix");
    EXPECT_EQ(posix["p5"], "q/f=a\\0\\0def") << mode;
    EXPECT_EQ(posix["p5-d5"], "q/f=abcdef") << mode;
  }
}

// ext4 punches a hole (or zeroes a range) by changing the extent tree under
// a journal handle: metadata, committed in program order. A kept punch keeps
// the rename before it there; under posix they are independent.
TEST(Mechanisms, Ext4JournalsAPunchedHoleAfterTheMetadataBeforeIt) {
  FsState init = WithDir("q");
  TraceBuilder t("/r", &init);
  int fd = t.Create("q/f");     // 2
  t.Write(fd, "abcdef");        // 3
  t.Fsync(fd);                  // 4
  int g = t.Create("q/g.tmp");  // 5
  t.Close(g);                   // 6
  t.Rename("q/g.tmp", "q/g");   // 7
  Op fa = On(t.ops()[1], OpKind::kFallocate, 8);
  fa.fd = fd;
  fa.oflags = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
  fa.offset = 0;
  fa.length = 6;
  std::vector<Op> ops = t.ops();
  ops.push_back(fa);
  Map ext4 = Golden(init, ops, "ext4-ordered");
  EXPECT_FALSE(Has(ext4, "p8-d7")) << "a kept punch keeps the rename before it";
  EXPECT_TRUE(Has(ext4, "p8-d8"));
  Map posix = Golden(init, ops, "posix");
  EXPECT_TRUE(Has(posix, "p8-d7"));
}

// A gap naming q/f (scope file), then q/f is removed: the states that hold
// q/f depend on the gap, the others do not.
TEST(Gaps, AFileGapTaintsExactlyTheStatesThatHoldTheFile) {
  FsState init = WithDir("q");
  TraceBuilder t("/r", &init);
  int fd = t.Create("q/f");  // 2
  t.Write(fd, "x");          // 3
  int d = t.OpenDir("q");    // 4
  t.Fsync(d);                // 5
  Op gap = On(t.ops()[1], OpKind::kGap, 6);
  gap.mode = trace::kGapScopeFile;
  gap.data = "shared writable mapping";
  std::vector<Op> ops = t.ops();
  ops.push_back(gap);
  Op unlink;
  unlink.kind = OpKind::kUnlink;
  unlink.seq = 7;
  unlink.path = "/r/q/f";
  ops.push_back(unlink);
  Op dirsync = ops[4];  // fsync of q
  dirsync.seq = 8;
  ops.push_back(dirsync);
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix");
  o.strategy = Strategy::kOmitOne;
  o.dedup = false;
  RunResult r = RunGenerator(init, ops, o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  int tainted = 0;
  for (const CrashState& cs : r.states) {
    const bool holds = cs.state.Stat("q/f") != nullptr;
    const bool after = cs.crash_seq >= 6;
    EXPECT_EQ(cs.gap.has_value(), holds && after) << cs.id << " " << Render(cs.state);
    if (cs.gap) {
      ++tainted;
      EXPECT_EQ(cs.gap->gap_seq, 6u);
      EXPECT_NE(cs.gap->reason.find("q/f: shared writable mapping"), std::string::npos);
    }
  }
  EXPECT_GT(tainted, 0);
  EXPECT_EQ(r.stats.unproven, static_cast<uint64_t>(tainted));
  // Listed as rebuilt by the target: the file's content does not matter.
  o.gap_rebuilt = {"q/*"};
  for (const CrashState& cs : RunGenerator(init, ops, o).states) EXPECT_FALSE(cs.gap) << cs.id;
}

// A difference the fidelity check found after the run (no kGap record):
// every state that holds the file is unproven, from the first op on; a name
// the trace never made leaves no state known.
TEST(Gaps, AFileTheTraceDoesNotReproduceTaintsEveryStateThatHoldsIt) {
  FsState init = WithDir("q");
  TraceBuilder t("/r", &init);
  int fd = t.Create("q/f");  // 2
  t.Write(fd, "x");          // 3
  int g = t.Create("q/g");   // 4
  t.Write(g, "y");           // 5
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix");
  o.strategy = Strategy::kOmitOne;
  o.dedup = false;
  o.unknown_files = {"q/g"};
  o.unknown_reason = "fidelity: q/g: bytes differ from offset 0";
  RunResult r = RunGenerator(init, t.ops(), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  int tainted = 0;
  for (const CrashState& cs : r.states) {
    EXPECT_EQ(cs.gap.has_value(), cs.state.Stat("q/g") != nullptr) << cs.id << " " << Render(cs.state);
    if (cs.gap) {
      ++tainted;
      EXPECT_EQ(cs.gap->reason, o.unknown_reason);
    }
  }
  EXPECT_GT(tainted, 0);
  EXPECT_LT(tainted, static_cast<int>(r.states.size()));
  EXPECT_EQ(r.stats.unproven, static_cast<uint64_t>(tainted));
  o.unknown_files = {""};
  for (const CrashState& cs : RunGenerator(init, t.ops(), o).states) EXPECT_TRUE(cs.gap) << cs.id;
}

TEST(Gaps, ADomainGapTaintsEveryLaterStateANoneGapNone) {
  FsState init = WithDir("q");
  for (uint32_t scope : {trace::kGapScopeDomain, trace::kGapScopeNone}) {
    TraceBuilder t("/r", &init);
    int fd = t.Create("q/f");  // 2
    Op gap;
    gap.kind = OpKind::kGap;
    gap.seq = 3;
    gap.mode = scope;
    gap.data = "static binary";
    std::vector<Op> ops = t.ops();
    ops.push_back(gap);
    (void)fd;
    Op w = ops[1];  // another create, after the gap
    w.seq = 4;
    w.path = "/r/q/g";
    w.ino = 99;
    ops.push_back(w);
    CrashOptions o;
    o.model = *PersistenceModel::Parse("process");
    RunResult r = RunGenerator(init, ops, o);
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    for (const CrashState& cs : r.states) {
      EXPECT_EQ(cs.gap.has_value(), scope == trace::kGapScopeDomain && cs.crash_seq >= 3) << cs.id;
    }
  }
}

}  // namespace
}  // namespace aftershock
