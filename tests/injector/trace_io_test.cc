// The trace as a whole: marks in the total order, a killed target's trace,
// escapes, refused io_uring, static binaries, protection of the mechanism,
// call sites, and the CLI.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "injector/marks.h"
#include "injector/trace_file.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

bool HasGap(const Trace& t, const std::string& what) {
  for (const Op& op : t.ops) {
    if (op.kind == OpKind::kGap && op.data.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST(TraceIo, MarksShareTheTotalOrderWithRecordedCalls) {
  ScratchDir scratch;
  std::string trace_path = scratch.path() + "/trace";
  std::string error;
  ASSERT_TRUE(CreateTrace(trace_path, &error)) << error;
  ASSERT_TRUE(AppendMark(trace_path, "step", "enqueue m1"));
  RecordedRun run = RecordIn(scratch, {Prog("inj_faulty")});
  ASSERT_TRUE(AppendMark(trace_path, "ack", "m1 alice@local"));
  TraceError terr;
  auto t = ReadTrace(trace_path, &terr);
  ASSERT_TRUE(t) << terr.message;
  ASSERT_GE(t->ops.size(), 4u);
  EXPECT_EQ(t->ops[0].kind, OpKind::kMeta);
  EXPECT_EQ(t->ops[1].kind, OpKind::kMark);
  EXPECT_EQ(t->ops[1].path, "step");
  EXPECT_EQ(t->ops.back().kind, OpKind::kMark);
  EXPECT_EQ(t->ops.back().data, "m1 alice@local");
  for (size_t i = 1; i < t->ops.size(); ++i) EXPECT_EQ(t->ops[i].seq, t->ops[i - 1].seq + 1);
}

TEST(TraceIo, KilledTargetLeavesAReadableTrace) {
  ScratchDir scratch;
  std::string root = scratch.path() + "/root";
  ::mkdir(root.c_str(), 0755);
  LaunchRequest o;
  o.argv = {Prog("inj_looper")};
  o.cwd = o.root = root;
  o.trace_path = scratch.path() + "/trace";
  o.timeout_ms = 300;
  LaunchOutcome r = Launch(o);
  EXPECT_EQ(r.end, LaunchOutcome::End::kTimedOut);
  // The preload copied its records through its mapping of the trace, which
  // it extended ahead of the tail (trace_format.h); the ptrace recorder
  // writes them with pwritev.
  int fd = ::open(o.trace_path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  trace::FileHeader fh{};
  ASSERT_EQ(::pread(fd, &fh, sizeof fh, 0), static_cast<ssize_t>(sizeof fh));
  if (Prog("inj_looper").find("_static") == std::string::npos) {
    EXPECT_GE(fh.allocated, fh.tail);
  }
  // A record whose writer was killed before it stored its magic (stored
  // last) is a hole: skipped; everything before it reads.
  std::string hole = std::string(4, '\0') + std::string(60, 'x');
  ASSERT_EQ(::pwrite(fd, hole.data(), hole.size(), static_cast<off_t>(fh.tail)),
            static_cast<ssize_t>(hole.size()));
  fh.tail += hole.size();
  ASSERT_EQ(::pwrite(fd, &fh, sizeof fh, 0), static_cast<ssize_t>(sizeof fh));
  ::close(fd);
  TraceError err;
  auto t = ReadTrace(o.trace_path, &err);
  ASSERT_TRUE(t) << err.message;
  size_t writes = 0;
  for (const Op& op : t->ops) writes += op.kind == OpKind::kWrite;
  EXPECT_GT(writes, 10u);
}

TEST(TraceIo, MutationOutsideTheRootIsAnEscape) {
  ScratchDir scratch;
  std::string outside = scratch.path() + "/outside";
  RecordedRun run = RecordIn(scratch, {Prog("inj_misc"), outside});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe();
  int escapes = 0;
  for (const Op& op : run.trace.ops) {
    if (op.path != outside) continue;
    // Mutations are escapes; a close changes nothing.
    EXPECT_EQ(op.Has(trace::kFlagEscape), op.kind != OpKind::kClose) << FormatOp(op);
    escapes += op.Has(trace::kFlagEscape);
  }
  EXPECT_EQ(escapes, 2);  // open, write
}

TEST(TraceIo, IoUringSetupIsRefusedAndReported) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_misc")});
  EXPECT_NE(run.result.output.find("io_uring_setup -1 ENOSYS"), std::string::npos)
      << run.result.output;
  EXPECT_TRUE(HasGap(run.trace, "io_uring_setup"));
}

// A static program, run directly or by a recorded shell, is recorded by
// the ptrace recorder: its exec, its calls, no gap. One named in the
// request's `unrecorded` (aftershock's own sink) is run as it is, and
// recorded by neither.
bool HasExecOf(const Trace& trace, const std::string& program) {
  for (const Op& op : trace.ops) {
    if (op.kind == OpKind::kExec && op.path == program) return true;
  }
  return false;
}

TEST(TraceIo, AStaticProgramIsRecordedUnlessNamedUnrecorded) {
  for (bool via_shell : {false, true}) {
    for (bool unrecorded : {false, true}) {
      ScratchDir scratch;
      LaunchRequest o;
      if (via_shell) {
        o.command = Prog("inj_static") + " out && true";
      } else {
        o.argv = {Prog("inj_static"), "out"};
      }
      o.cwd = scratch.path();
      o.root = scratch.path();
      o.trace_path = scratch.path() + "/trace";
      if (unrecorded) o.unrecorded = {Prog("inj_static")};
      LaunchOutcome r = Launch(o);
      ASSERT_TRUE(r.Succeeded()) << r.Describe() << r.output;
      TraceError err;
      auto trace = ReadTrace(o.trace_path, &err);
      ASSERT_TRUE(trace.has_value()) << err.message;
      std::string where = via_shell ? " (via a shell)" : " (direct)";
      EXPECT_FALSE(HasGap(*trace, "static binary")) << where;
      EXPECT_EQ(HasExecOf(*trace, Prog("inj_static")), !unrecorded) << where;
      bool wrote = false;
      for (const Op& op : trace->ops) {
        wrote |=
            op.kind == OpKind::kWrite && op.path == scratch.path() + "/out" && op.data == "out";
      }
      EXPECT_EQ(wrote, !unrecorded) << where;
      EXPECT_EQ(HasGap(*trace, "io_uring_setup"), !unrecorded) << where;
    }
  }
}

// Without a ptrace recorder (an install that lacks it), a static program
// is still a gap, never silently unrecorded.
TEST(TraceIo, AStaticProgramWithoutThePtraceRecorderIsAGap) {
  ScratchDir scratch;
  ::setenv("AFTERSHOCK_PTRACE", "/nonexistent/aftershock-ptrace", 1);
  LaunchRequest o;
  o.command = Prog("inj_static") + " && true";
  o.cwd = o.root = scratch.path();
  o.trace_path = scratch.path() + "/trace";
  LaunchOutcome r = Launch(o);
  ::unsetenv("AFTERSHOCK_PTRACE");
  ASSERT_TRUE(r.Succeeded()) << r.Describe() << r.output;
  TraceError err;
  auto trace = ReadTrace(o.trace_path, &err);
  ASSERT_TRUE(trace.has_value()) << err.message;
  EXPECT_TRUE(HasGap(*trace, "static binary"));
}

// Without the gap the target crashed: the recorder's TLS was gone.
TEST(TraceIo, ReplacedThreadPointerIsAGapNotACrash) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_own_tls")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  EXPECT_TRUE(HasGap(run.trace, "ARCH_SET_FS"));
  bool before = false;
  for (const Op& op : run.trace.ops) {
    before |= op.kind == OpKind::kWrite && op.path == run.root + "/before";
  }
  EXPECT_TRUE(before);
  std::ifstream after(run.root + "/after");
  std::string line;
  EXPECT_TRUE(std::getline(after, line));
  EXPECT_EQ(line, "raw");
  // Through libc's write, whose site was rewritten before: put back.
  EXPECT_TRUE(std::getline(after, line));
  EXPECT_EQ(line, "libc");
}

// A vfork-like child that exits (posix_spawn's, when its exec fails) makes
// its exit in the handler: passed through, it left its return address on
// the return stack it shares with its parent thread, which then jumped
// into the child's _exit.
TEST(TraceIo, AFailedPosixSpawnLeavesItsParentRunning) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_spawn_fail")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
  std::ifstream after(run.root + "/after");
  std::string line;
  EXPECT_TRUE(std::getline(after, line));
  EXPECT_EQ(line, "ok");
}

// An open that may create its file says whether it did (kFlagCreated):
// the recorder tries it with O_EXCL first, and looks when the name exists.
TEST(TraceIo, AnOpenThatMayCreateSaysWhetherItDid) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_creating_opens")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  ASSERT_TRUE(run.trace_ok) << run.trace_error;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
  std::vector<std::string> opens;  // "name created|existed|errno"
  for (const Op& op : run.trace.ops) {
    if (op.kind != OpKind::kOpen || op.path.rfind(run.root + "/", 0) != 0) continue;
    std::string what = op.result < 0                 ? "errno " + std::to_string(op.err)
                       : op.Has(trace::kFlagCreated) ? "created"
                                                     : "existed";
    opens.push_back(op.path.substr(run.root.size() + 1) + " " + what);
  }
  std::vector<std::string> want = {"new created", "new existed", "link created",
                                   "dir errno " + std::to_string(EISDIR), "at-new created"};
  EXPECT_EQ(opens, want);
}

// Children that share their parent's memory (clone(CLONE_VM | CLONE_VFORK))
// started by two threads at once: each child is told apart from its parent
// (a global mark, cleared by the other thread, made one die of SIGSEGV),
// and every call of parents and children is recorded.
TEST(TraceIo, VforkChildrenOfSeveralThreadsAreToldApartFromTheirParent) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_vfork_threads")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  size_t counted = 0, logged = 0;
  std::set<int32_t> log_writers;
  for (const Op& op : run.trace.ops) {
    if (op.kind != OpKind::kWrite) continue;
    if (op.path == run.root + "/count") ++counted;
    if (op.path == run.root + "/log") {
      ++logged;
      log_writers.insert(op.pid);
    }
  }
  EXPECT_EQ(counted, 200u);
  EXPECT_EQ(logged, 200u);
  EXPECT_EQ(log_writers.size(), 200u);  // each by its own child, none by a parent
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(TraceIo, TargetCannotBlockReplaceOrDisarmTheRecorder) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_sigsys")});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  EXPECT_NE(run.result.output.find("prctl -1"), std::string::npos);
  bool seen = false;
  for (const Op& op : run.trace.ops) {
    seen |= op.kind == OpKind::kWrite && op.path == run.root + "/still-recorded";
  }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(TraceIo, CallSitesPointIntoTheProgram) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {Prog("inj_stdio")});
  int with_site = 0, calls = 0;
  for (const Op& op : run.trace.ops) {
    if (op.kind != OpKind::kWrite && op.kind != OpKind::kOpen) continue;
    ++calls;
    if (op.module == Prog("inj_stdio") && op.call_offset > 0) ++with_site;
  }
  EXPECT_GT(calls, 0);
  EXPECT_EQ(with_site, calls);
}

TEST(TraceIo, ChmodThroughProcSelfFdIsRecordedOnTheFile) {
  // tar restores a directory's mode with chmod("/proc/self/fd/N") of an
  // O_PATH fd; the fidelity check fails if that chmod is lost.
  ScratchDir scratch;
  RecordedRun run = RecordIn(
      scratch,
      {"sh:mkdir -p a/b && echo x > a/b/f && tar cf t.tar a && mkdir y && tar xf t.tar -C y"});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe() << run.result.output;
  EXPECT_TRUE(run.fidelity.ok) << run.fidelity.gap;
}

TEST(TraceIo, ExecWithoutPreloadIsStillRecordedAndKeepsTheContractVariables) {
  ScratchDir scratch;
  std::string root = scratch.path() + "/root";
  ::mkdir(root.c_str(), 0755);
  LaunchRequest o;
  o.argv = {Prog("inj_env_exec")};
  o.cwd = o.root = root;
  o.trace_path = scratch.path() + "/trace";
  o.env = {{"AFTERSHOCK_ID", "m17"}};
  LaunchOutcome r = Launch(o);
  ASSERT_TRUE(r.Succeeded()) << r.Describe() << r.output;
  std::ifstream in(root + "/second");
  std::string id;
  std::getline(in, id);
  EXPECT_EQ(id, "m17");
  TraceError err;
  auto t = ReadTrace(o.trace_path, &err);
  ASSERT_TRUE(t) << err.message;
  bool seen = false;
  for (const Op& op : t->ops) seen |= op.kind == OpKind::kWrite && op.path == root + "/second";
  EXPECT_TRUE(seen);
}

TEST(TraceIo, ForkAndExecRecordsPrecedeTheChildsCalls) {
  ScratchDir scratch;
  RecordedRun run = RecordIn(scratch, {"sh:echo a > f; mv f g; (echo b > h)"});
  ASSERT_TRUE(run.result.Succeeded()) << run.result.Describe();
  std::map<int, uint64_t> born;  // child pid -> seq of its kFork
  std::map<int, std::string> exe;
  for (const Op& op : run.trace.ops) {
    if (op.kind == OpKind::kFork) born[static_cast<int>(op.result)] = op.seq;
    if (op.kind == OpKind::kExec) exe[op.pid] = op.path;
  }
  EXPECT_GE(born.size(), 2u);  // mv, and the subshell
  bool mv = false;
  for (const auto& [pid, path] : exe) mv |= path.find("/mv") != std::string::npos;
  EXPECT_TRUE(mv);
  for (const Op& op : run.trace.ops) {
    auto it = born.find(op.pid);
    if (it != born.end() && op.kind != OpKind::kFork) {
      EXPECT_GT(op.seq, it->second) << FormatOp(op);
    }
  }
}

std::string Aftershock() {
  const char* exe = std::getenv("AFTERSHOCK_EXE");
  return exe ? exe : "aftershock";
}

int Shell(const std::string& cmd, std::string* out) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(TraceIo, RecordCommandKeepsTheExitStatusAndShowPrintsTheTrace) {
  ScratchDir scratch;
  std::string out;
  std::string trace = scratch.path() + "/t";
  int rc = Shell("cd " + scratch.path() + " && " + Aftershock() + " record --out " + trace +
                     " -- sh -c 'echo x > f; exit 3'",
                 &out);
  EXPECT_EQ(rc, 3) << out;
  EXPECT_NE(out.find("trace written to " + trace), std::string::npos) << out;
  std::string shown;
  EXPECT_EQ(Shell(Aftershock() + " trace show " + trace, &shown), 0);
  EXPECT_NE(shown.find("open(\"" + scratch.path() + "/f\""), std::string::npos) << shown;
  EXPECT_NE(shown.find("write("), std::string::npos);
}

TEST(TraceIo, RecordCheckReportsTheFidelityCheck) {
  ScratchDir scratch;
  std::string out;
  EXPECT_EQ(Shell("cd " + scratch.path() + " && " + Aftershock() + " record --check --out " +
                      scratch.path() + "/t -- sh -c 'echo x > f; mv f g'",
                  &out),
            0);
  EXPECT_NE(out.find("fidelity check: replaying the trace reproduces"), std::string::npos) << out;
}

TEST(TraceIo, RecordWarnsAboutAPointTheRecorderNeverConsults) {
  ScratchDir scratch;
  std::string out;
  EXPECT_EQ(Shell("cd " + scratch.path() + " && " + Aftershock() + " record --out " +
                      scratch.path() + "/t --faults 'fail posix/io/sync/fsnyc errno=EIO;" +
                      "fail posix/io/sync/fsync nth=9 errno=EIO' -- true",
                  &out),
            0);
  EXPECT_NE(out.find("warning: 'posix/io/sync/fsnyc'"), std::string::npos) << out;
  EXPECT_EQ(out.find("'posix/io/sync/fsync'"), std::string::npos) << out;
}

TEST(TraceIo, ShowRejectsAMalformedTraceNamingTheByteOffset) {
  ScratchDir scratch;
  std::string trace = scratch.path() + "/bad";
  std::string error;
  ASSERT_TRUE(CreateTrace(trace, &error));
  {
    // The first record (the kMeta, just after the 32-byte file header) loses its magic.
    std::fstream f(trace, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(32);
    f << "xxxx";
  }
  std::string out;
  EXPECT_EQ(Shell(Aftershock() + " trace show " + trace, &out), 2);
  EXPECT_NE(out.find("byte 32: bad record magic"), std::string::npos) << out;
}

}  // namespace
}  // namespace aftershock::testing
