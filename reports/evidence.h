// What a person needs to act on one violation group, collected by the
// harness for the group's example state and stored in report.json, so that
// every output format can be regenerated from the JSON alone.
//
// Size: evidence exists only for each group's example; the timeline holds
// the ops around the crash point plus the marked ones (see the caps in
// harness/evidence_cause.h), the file trees and mail findings are capped too.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aftershock {

// Why an op is in the timeline (bits; an op may carry several).
enum TimelineFlag : uint32_t {
  kTimelineCrashPoint = 1u << 0,  // the last op that happened before the crash
  kTimelineDropped = 1u << 1,     // the crash lost it
  kTimelineTorn = 1u << 2,        // the crash kept part of it
  kTimelineAck = 1u << 3,         // an `ack` mark: a promise was made here
  kTimelineStep = 1u << 4,        // a `step` mark: a workload step starts
  kTimelineSink = 1u << 5,        // a `sink` mark: a copy was handed over
  kTimelineCulprit = 1u << 6,     // the op the root cause names
  kTimelineSync = 1u << 7,        // the sync the root cause cites
  kTimelineAfterCrash = 1u << 8,  // recorded, but after the crash point: never happened
};

struct TimelineEntry {
  uint64_t seq = 0;
  int32_t pid = 0;
  std::string call;    // "rename", "mark"
  std::string args;    // paths relative to the target's root
  std::string result;  // "0", "-1 ENOENT (No such file or directory)", "" for marks
  std::string site;    // "queue/fs.cc:88 (refqueue::SyncDir)" or "module+0x1a2b", "" unknown
  uint32_t flags = 0;
  bool Has(uint32_t flag) const { return (flags & flag) != 0; }
};

// One workload step, from the trace's `step` mark to the next one.
struct WorkloadStep {
  uint64_t seq = 0;      // its `step` mark
  uint64_t end_seq = 0;  // the next step's mark, or one past the trace
  std::string what;      // "enqueue m1 alice@local bob@remote"
  std::string exit;      // the `exit` mark's status, "" when none
};

struct TreeEntry {
  std::string path;  // relative to the root
  char type = 'f';   // f file, d directory, l symlink, o other
  uint64_t size = 0;
  uint32_t mode = 0;  // permission bits
  bool operator==(const TreeEntry&) const = default;
};

// One finding of the checker about one message and recipient.
struct MailFinding {
  std::string kind;  // "lost", "duplicated", "corrupted", "phantom", "unacked-delivered"
  std::string id;    // m3
  std::string rcpt;  // bob@remote, "" when not known
  std::string detail;
};

// A place in the target's code: a return address and what the module's
// debug information or symbol table says of it.
struct CodeSite {
  std::string module;
  uint64_t offset = 0;
  std::string file;  // as the module's DWARF names it; "" when unknown
  int line = 0;
  std::string function;
  bool HasSource() const { return line > 0 && !file.empty(); }
  // "queue/enqueue.cc:88 (refqueue::Enqueue)", "module+0x1a2b", or "".
  std::string Site() const;
  // `function` without its parameter list: "refqueue::WriteAll".
  std::string ShortFunction() const;
};

// One frame of a blamed op's call stack.
struct StackEntry : CodeSite {
  // A function whose every change in the trace is of one kind (WriteAll,
  // a rename helper): the decision to call it was its caller's.
  bool wrapper = false;
};

// The op to blame, with the frame of its call stack to blame (the fields
// of CodeSite are that frame's).
struct Culprit : CodeSite {
  bool known = false;
  uint64_t seq = 0;
  std::string role;               // "dropped", "torn", "crash point"
  std::string op;                 // "rename(queue/incoming/A, queue/active/A) = 0"
  std::vector<StackEntry> stack;  // innermost first; [0] is the call site; empty when unknown
  size_t frame = 0;               // the entry blamed
  std::string stack_method;       // how the callers were found: "frame pointers", "stack scan"
};

struct Evidence {
  bool present = false;
  std::string error;  // why evidence is missing or partial
  std::string model;
  std::string strategy;
  uint64_t crash_seq = 0;  // records with seq < crash_seq happened
  uint64_t trace_end = 0;  // one past the last record
  std::vector<uint64_t> dropped_seqs;
  std::vector<uint64_t> torn_seqs;
  std::vector<WorkloadStep> workload;
  std::vector<TimelineEntry> timeline;  // ascending seq
  int64_t timeline_omitted = 0;         // ops of the trace not shown
  std::vector<TreeEntry> tree_before;   // the crash state, before recovery
  std::vector<TreeEntry> tree_after;    // after recovery and draining
  bool tree_truncated = false;
  std::vector<MailFinding> mail;
  Culprit culprit;
  std::string root_cause;
  // Every violating state of the group: (crash_seq, states), ascending.
  std::vector<std::pair<uint64_t, int64_t>> crash_points;
};

}  // namespace aftershock
