// Hand-built traces and reports for the report tests.
#pragma once

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "model/trace.h"
#include "reports/report.h"

namespace aftershock::testing_fixtures {

inline std::string SelfPath() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Lowest mapping of our own executable, as the injector computes module starts.
inline uint64_t SelfBase() {
  std::string self = SelfPath();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  uint64_t lowest = UINT64_MAX;
  while (std::getline(maps, line)) {
    if (line.size() < self.size() || line.compare(line.size() - self.size(), self.size(), self))
      continue;
    uint64_t start = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    if (start < lowest) lowest = start;
  }
  return lowest;
}

// Builds a trace with consecutive seqs. Paths are relative to the root.
class OpBuilder {
 public:
  explicit OpBuilder(std::string root, std::vector<Op> ops = {})
      : root_(std::move(root)), ops_(std::move(ops)) {}
  const std::vector<Op>& ops() const { return ops_; }

  void Mark(const std::string& label, const std::string& data) {
    Op op = Next(OpKind::kMark);
    op.path = label;
    op.data = data;
    Push(op);
  }
  // Records the caller's line as the call site (like the injector, which
  // records the return address into the target's code). Returns that line.
  __attribute__((noinline)) uint64_t OpenCreate(const std::string& rel, int fd, uint64_t ino,
                                                int line = __builtin_LINE()) {
    uintptr_t ra = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
    asm volatile("" ::: "memory");
    Op op = Next(OpKind::kOpen);
    op.path = Abs(rel);
    op.oflags = O_WRONLY | O_CREAT;
    op.mode = 0644;
    op.flags = trace::kFlagCreated;
    op.result = fd;
    op.fd = fd;
    op.ino = ino;
    op.module = SelfPath();
    op.call_offset = ra - SelfBase();
    op.call_addr = ra;
    Push(op);
    return static_cast<uint64_t>(line);
  }
  void Write(int fd, const std::string& rel, uint64_t ino, const std::string& data) {
    Op op = Next(OpKind::kWrite);
    op.fd = fd;
    op.path = Abs(rel);
    op.ino = ino;
    op.data = data;
    op.length = data.size();
    op.result = static_cast<int64_t>(data.size());
    Push(op);
  }
  void Fsync(int fd, const std::string& rel, uint64_t ino) {
    Op op = Next(OpKind::kFsync);
    op.fd = fd;
    op.path = Abs(rel);
    op.ino = ino;
    Push(op);
  }
  void FsyncDir(int fd, const std::string& rel) {
    Op op = Next(OpKind::kFsync);
    op.fd = fd;
    op.path = Abs(rel);
    op.flags = trace::kFlagDirectory;
    Push(op);
  }
  void Close(int fd) {
    Op op = Next(OpKind::kClose);
    op.fd = fd;
    Push(op);
  }
  void Rename(const std::string& from, const std::string& to) {
    Op op = Next(OpKind::kRename);
    op.path = Abs(from);
    op.path2 = Abs(to);
    Push(op);
  }
  void Unlink(const std::string& rel) {
    Op op = Next(OpKind::kUnlink);
    op.path = Abs(rel);
    Push(op);
  }

 private:
  Op Next(OpKind kind) {
    Op op;
    op.kind = kind;
    op.seq = ops_.empty() ? 1 : ops_.back().seq + 1;
    op.pid = 42;
    op.tid = 42;
    return op;
  }
  void Push(const Op& op) { ops_.push_back(op); }
  std::string Abs(const std::string& rel) const { return root_ + "/" + rel; }

  std::string root_;
  std::vector<Op> ops_;
};

// A report with one lost group, its evidence filled as the harness would.
inline Report SampleReport(const std::string& source_file, int line) {
  Report r;
  r.aftershock_version = "0.1.0";
  r.seed = 7;
  r.started_utc = "2026-11-29T18:00:00Z";
  r.seconds = 1.5;
  r.command_line = "aftershock run scenarios/bug-no-dir-fsync.toml";
  ScenarioResult s;
  s.name = "bug-no-dir-fsync";
  s.file = "scenarios/bug-no-dir-fsync.toml";
  s.target = "refqueue";
  s.description = "refqueue bug variant <no-dir-fsync> & friends";
  ModelResult m;
  m.model = "posix";
  m.strategy = "omit-one";
  m.states_explored = 40;
  m.states_unique = 31;
  m.verdicts[static_cast<int>(Verdict::kOk)] = 37;
  m.verdicts[static_cast<int>(Verdict::kLost)] = 3;
  m.passed = true;
  ViolationGroup g;
  g.verdict = Verdict::kLost;
  g.cause = "dropped open {root}/queue/incoming/#";
  g.count = 3;
  g.example_state = "p9-d2";
  g.example_description = "after op 9; dropped op 2";
  g.example_detail = "lost m1 -> bob@remote";
  g.reproduce =
      "aftershock replay out/report.json --scenario bug-no-dir-fsync --model posix "
      "--state p9-d2 --into aftershock-replay-p9-d2";
  g.expected = true;
  Evidence& e = g.evidence;
  e.present = true;
  e.model = "posix";
  e.strategy = "omit-one";
  e.crash_seq = 10;
  e.trace_end = 12;
  e.dropped_seqs = {2};
  e.workload = {{1, 8, "enqueue m1 alice@local bob@remote", "0"}, {8, 12, "deliver", "0"}};
  e.timeline = {
      {1, 42, "mark step", "enqueue m1", "", "", kTimelineStep},
      {2, 42, "open", "\"queue/incoming/A\", O_WRONLY|O_CREAT, 0644", "3",
       source_file + ":" + std::to_string(line), kTimelineDropped | kTimelineCulprit},
      {7, 42, "mark ack", "m1 alice@local bob@remote", "", "", kTimelineAck},
      {9, 42, "close", "3", "0", "", kTimelineCrashPoint},
      {10, 42, "unlink", "\"queue/incoming/A\"", "0", "", kTimelineAfterCrash},
  };
  e.timeline_omitted = 6;
  e.tree_before = {{"queue", 'd', 0, 0755}, {"queue/incoming", 'd', 0, 0755}};
  e.tree_after = {
      {"queue", 'd', 0, 0755}, {"queue/incoming", 'd', 0, 0755}, {"queue/corrupt", 'd', 0, 0700}};
  e.mail = {{"lost", "m1", "bob@remote", "acknowledged before the crash; no intact copy"}};
  Culprit& c = e.culprit;
  c.known = true;
  c.seq = 2;
  c.role = "dropped";
  c.op = "open(\"queue/incoming/A\", O_WRONLY|O_CREAT, 0644) = 3";
  c.module = "/build/queue/refqueue";
  c.offset = 0x1234;
  c.file = source_file;
  c.line = line;
  c.function = "refqueue::CreateIncoming";
  // Its stack: a wrapper called it; CreateIncoming is blamed; Enqueue called it.
  StackEntry wrapper;
  wrapper.module = c.module;
  wrapper.offset = 0x1100;
  wrapper.file = "/build/queue/fs.cc";
  wrapper.line = 38;
  wrapper.function = "refqueue::CreateExclusive(std::string const&)";
  wrapper.wrapper = true;
  StackEntry caller;
  caller.module = c.module;
  caller.offset = 0x2200;
  caller.function = "refqueue::Enqueue";
  c.stack = {wrapper, StackEntry{}, caller};
  static_cast<CodeSite&>(c.stack[1]) = c;
  c.frame = 1;
  c.stack_method = "stack scan";
  e.root_cause =
      "lost m1 to bob@remote: op 2 `open(\"queue/incoming/A\", O_WRONLY|O_CREAT, 0644)` was not "
      "made durable before the acknowledgement at op 7; its directory `queue/incoming/` is never "
      "fsynced after it";
  e.crash_points = {{3, 1}, {5, 1}, {10, 1}};
  m.groups.push_back(g);
  s.models.push_back(m);
  ModelResult process = m;
  process.model = "process";
  process.groups.clear();
  process.verdicts = {};
  process.verdicts[0] = 12;
  s.models.push_back(process);
  r.scenarios.push_back(s);
  return r;
}

}  // namespace aftershock::testing_fixtures
