// Each program runs under `aftershock record` and under strace -f; the
// mutating calls both saw must agree, and replaying the trace must give the
// directory the run left (the fidelity check).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <map>
#include <set>

#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

std::string Join(const Mutations& m) {
  std::string s;
  for (const auto& x : m) s += "  " + x + "\n";
  return s;
}

// Records argv, checks the run, the fidelity check, and strace agreement.
RecordedRun CheckAgainstStrace(const std::vector<std::string>& argv, bool ordered = true,
                               bool escapes_too = false) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, argv);
  EXPECT_TRUE(run.result.Succeeded()) << run.result.Describe() << "\n" << run.result.output;
  EXPECT_TRUE(run.trace_ok) << run.trace_error;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
  bool strace_ok = false;
  Mutations want = FromStrace(scratch, argv, &strace_ok, escapes_too);
  EXPECT_TRUE(strace_ok);
  Mutations got = FromTrace(run.trace, run.root, escapes_too);
  EXPECT_FALSE(got.empty());
  if (ordered) {
    EXPECT_EQ(want, got) << "strace:\n" << Join(want) << "aftershock:\n" << Join(got);
  } else {
    EXPECT_EQ(Sorted(want), Sorted(got)) << "strace:\n"
                                         << Join(want) << "aftershock:\n"
                                         << Join(got);
  }
  return run;
}

TEST(Record, PlainPosixCallsMatchStrace) { CheckAgainstStrace({Prog("inj_posix_calls")}); }

TEST(Record, StdioWithAndWithoutFflushMatchesStrace) { CheckAgainstStrace({Prog("inj_stdio")}); }

TEST(Record, MkstempTmpfileRemoveMatchStrace) {
  RecordedRun run = CheckAgainstStrace({Prog("inj_temp")}, true, /*escapes_too=*/true);
  bool escape = false;
  for (const Op& op : run.trace.ops)
    escape |= op.Has(trace::kFlagEscape) && op.kind == OpKind::kWrite;
  EXPECT_TRUE(escape) << "tmpfile() writes in /tmp, outside the root";
}

TEST(Record, RawSyscallMatchesStrace) { CheckAgainstStrace({Prog("inj_raw_syscall")}); }

TEST(Record, FortifiedOpensMatchStrace) { CheckAgainstStrace({Prog("inj_fortify")}); }

TEST(Record, DirfdCallsMatchStrace) { CheckAgainstStrace({Prog("inj_dirfd_ops")}); }

TEST(Record, AppendAndVectorWritesMatchStrace) {
  RecordedRun run = CheckAgainstStrace({Prog("inj_append_vec")});
  // Offsets are where the bytes landed, O_APPEND included.
  std::vector<int64_t> log_offsets;
  for (const Op& op : run.trace.ops) {
    if (op.kind == OpKind::kWrite && op.path == run.root + "/log") log_offsets.push_back(op.offset);
  }
  EXPECT_EQ(log_offsets, (std::vector<int64_t>{0, 4, 8}));
}

TEST(Record, ShellChainWithMvAndCpMatchesStrace) {
  CheckAgainstStrace({"sh:echo one > a; mv a b; cp b c; mkdir d; mv c d/e; rm b"}, false);
}

TEST(Record, MultithreadedWriterLosesNoRecordAndKeepsOneOrder) {
  RecordedRun run = CheckAgainstStrace({Prog("inj_threads")}, false);
  std::set<uint64_t> seqs;
  size_t shared_writes = 0;
  for (const Op& op : run.trace.ops) {
    EXPECT_TRUE(seqs.insert(op.seq).second) << "duplicate seq " << op.seq;
    if (op.kind == OpKind::kWrite && op.path == run.root + "/shared") ++shared_writes;
  }
  EXPECT_EQ(shared_writes, 8u * 200u);
  // Every number handed out is used: no record was lost.
  EXPECT_EQ(*seqs.rbegin() - *seqs.begin() + 1, seqs.size());
}

// Go's runtime makes its own system calls, from several threads: built
// with cgo it is recorded by the preload, static (the record-ptrace suite)
// by the ptrace recorder.
TEST(Record, GoQueueMatchesStrace) {
  CheckAgainstStrace(
      {"sh:mkdir Maildir Maildir/tmp Maildir/new && echo hello | " + Prog("inj_goq") + " good m1"},
      false);
}

TEST(Record, PythonOsCallsMatchStrace) {
  CheckAgainstStrace({"python3", "-c",
                      "import os\n"
                      "fd = os.open('p.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
                      "os.write(fd, b'payload')\n"
                      "os.fsync(fd)\n"
                      "os.close(fd)\n"
                      "os.replace('p.tmp', 'p')\n"},
                     false);
}

// A socket file holds no data and the models hold none: its chmod and
// unlink are not recorded (a server such as Postfix's master removes, binds
// and opens its sockets at every start), so the trace replays cleanly.
TEST(Record, SocketFilesAreNotPartOfTheState) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {"python3", "-c",
                                       "import os, socket\n"
                                       "s = socket.socket(socket.AF_UNIX)\n"
                                       "s.bind('sock')\n"
                                       "os.chmod('sock', 0o666)\n"
                                       "os.unlink('sock')\n"
                                       "t = socket.socket(socket.AF_UNIX)\n"
                                       "t.bind('kept')\n"
                                       "os.chmod('kept', 0o622)\n"
                                       "open('file', 'w').write('x')\n"
                                       "os.chmod('file', 0o600)\n"});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << "\n" << run.result.output;
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;  // the socket left behind is no difference
  Mutations got = FromTrace(run.trace, run.root);
  std::string all = Join(got);
  EXPECT_EQ(all.find("sock"), std::string::npos) << all;
  EXPECT_EQ(all.find("kept"), std::string::npos) << all;
  EXPECT_NE(all.find("chmod file"), std::string::npos) << all;  // a file's chmod still is
}

// Bytes moved by the kernel are read back from the destination and
// recorded as writes (fd2 = the source); RWF_DSYNC is kept in `mode`.
TEST(Record, InKernelCopiesAreRecordedAsTheBytesThatLanded) {
  RecordedRun run = CheckAgainstStrace({Prog("inj_copies")});
  const std::string text = "bytes the kernel moves without the program\n";
  std::map<std::string, const Op*> last_write;
  for (const Op& op : run.trace.ops) {
    if (op.kind == OpKind::kWrite) last_write[op.path.substr(run.root.size() + 1)] = &op;
  }
  for (const char* name : {"a", "b", "c", "d", "e"}) ASSERT_EQ(last_write.count(name), 1u) << name;
  EXPECT_EQ(last_write["a"]->data, text);
  EXPECT_EQ(last_write["a"]->sysno, SYS_copy_file_range);
  EXPECT_GE(last_write["a"]->fd2, 0);
  EXPECT_EQ(last_write["b"]->offset, 5);  // at the position, after "head:"
  EXPECT_EQ(last_write["b"]->data, text);
  EXPECT_EQ(last_write["c"]->offset, 3);
  EXPECT_EQ(last_write["c"]->sysno, SYS_splice);
  EXPECT_EQ(last_write["d"]->mode, static_cast<uint32_t>(RWF_DSYNC));
  EXPECT_NE(last_write["e"]->oflags & O_DSYNC, 0u);
}

// Stores through a shared mapping are recorded where they are captured,
// flagged kFlagMapped: the replay reproduces the file (fidelity).
TEST(Record, SharedMappingStoresAreRecordedAtEachCapturePoint) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_mapped")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
  std::vector<std::pair<std::string, long>> stores;  // bytes, sysno
  bool msync = false;
  for (const Op& op : run.trace.ops) {
    EXPECT_NE(op.kind, OpKind::kGap) << op.data;
    if (op.kind == OpKind::kMsync) msync = (op.oflags & MS_SYNC) != 0 && op.length == 4096;
    if (op.kind == OpKind::kWrite && op.Has(trace::kFlagMapped))
      stores.emplace_back(op.data, op.sysno);
  }
  EXPECT_TRUE(msync);
  // The parent's last capture also holds the child's store, which its own
  // shadow had not seen: the same bytes again, harmless.
  std::vector<std::pair<std::string, long>> want = {{"first", SYS_msync},
                                                    {"second", SYS_fsync},
                                                    {"third", SYS_munmap},
                                                    {"child", SYS_exit_group},
                                                    {"last", SYS_exit_group}};
  ASSERT_EQ(stores.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NE(stores[i].first.find(want[i].first), std::string::npos)
        << i << " " << stores[i].first;
    EXPECT_EQ(stores[i].second, want[i].second) << i;
  }
}

TEST(Record, SqliteWalShmMappingIsRecordedNotAGap) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {"sqlite3", "db",
                                       "PRAGMA journal_mode=WAL; CREATE TABLE t(x);"
                                       "INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);"
                                       "SELECT count(*) FROM t;"});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  EXPECT_NE(run.result.output.find("2"), std::string::npos);
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  bool shm_gap = false, shm_stores = false;
  for (const Op& op : run.trace.ops) {
    shm_gap |= op.kind == OpKind::kGap && op.path == run.root + "/db-shm";
    shm_stores |=
        op.kind == OpKind::kWrite && op.Has(trace::kFlagMapped) && op.path == run.root + "/db-shm";
  }
  EXPECT_FALSE(shm_gap);
  EXPECT_TRUE(shm_stores);
  // sqlite removes -wal and -shm when the last connection closes.
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

}  // namespace
}  // namespace aftershock::testing
