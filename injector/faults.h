// Fault rules: what the harness asks the recorder to break, parsed from
// AFTERSHOCK_FAULTS (or the file named by AFTERSHOCK_FAULTS_FILE).
//
// One rule per line (or separated by ';'):
//   fail  POINT [nth=N] errno=EIO|ENOSPC|EDQUOT|EINTR|<number>
//   short POINT [nth=N] bytes=B          (a write moves only B bytes)
//   kill  before|after seq=S             (SIGKILL just before/after op S)
//   kill  before|after POINT [nth=N]
//   pause before POINT [nth=N]           (block before the call until the harness resumes)
//   pause before seq=S                   (before the call that would take seq S)
//   count POINT                          (only count the calls: rule_hits in the shared page)
// POINT is a libfiu point name ("posix/io/sync/fsync"; a trailing '*'
// matches a group). nth counts the calls of the point across every process
// of the run (1-based); without nth every call matches. Allocation-free, so
// the same code parses in the target and in tests.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "injector/shared_page.h"

namespace aftershock::inject {

enum class FaultAction : uint8_t { kFail, kShort, kKillBefore, kKillAfter, kPause, kCount };

// True iff the rule is applied by the recorder itself before the call takes
// its sequence number (pause, count), not through libfiu.
inline bool IsPreSeqRule(FaultAction a) {
  return a == FaultAction::kPause || a == FaultAction::kCount;
}

struct FaultRule {
  FaultAction action = FaultAction::kFail;
  char point[128] = {};  // empty for seq-based kills
  uint64_t nth = 0;      // 0 = every call
  uint64_t seq = 0;      // kill/pause rules by sequence number (0 = not by seq)
  int err = 0;           // errno for kFail (always explicit)
  uint64_t bytes = 0;    // kShort: bytes the write moves
};

struct FaultPlan {
  int count = 0;
  FaultRule rules[kMaxRules];
};

// What the rules say about one recorded call (both recorders).
struct FaultDecision {
  bool kill_before = false;
  bool kill_after = false;
  int err = 0;           // inject this errno instead of running the call
  bool shorten = false;  // run a write with at most `bytes` bytes
  uint64_t bytes = 0;
};

// Adds what rule r does to d (pause and count rules are applied before the
// call takes its sequence number, not here).
inline void ApplyRule(const FaultRule& r, FaultDecision* d) {
  switch (r.action) {
    case FaultAction::kFail:
      d->err = r.err;
      break;
    case FaultAction::kShort:
      d->shorten = true;
      d->bytes = r.bytes;
      break;
    case FaultAction::kKillBefore:
      d->kill_before = true;
      break;
    case FaultAction::kKillAfter:
      d->kill_after = true;
      break;
    case FaultAction::kPause:
    case FaultAction::kCount:
      break;
  }
}

// Parses spec into *plan (appending). Returns true iff every rule parsed;
// otherwise writes a message naming the rule into err.
bool ParseFaultSpec(const char* spec, size_t len, FaultPlan* plan, char* err, size_t err_cap);

struct ErrnoName {
  const char* name;  // "EIO"
  int value;
};
// Every errno name ErrnoFromName knows, kErrnoNameCount of them: the one list
// (the scenario parser asks it too).
extern const ErrnoName kErrnoNames[];
extern const size_t kErrnoNameCount;

// errno for a name in kErrnoNames ("EIO") or a decimal number; 0 if unknown.
int ErrnoFromName(const char* s, size_t len);

// Every fault point the recorder consults, kFaultPointCount of them (the
// names in calls_*.cc; tests/injector checks that the two agree).
extern const char* const kFaultPoints[];
extern const size_t kFaultPointCount;

// True iff point name `name` matches pattern (exact, or prefix with '*').
bool PointMatches(const char* pattern, const char* name);

// True iff `pattern` names a fault point of kFaultPoints, or is a group
// (trailing '*') that matches at least one of them.
bool IsKnownPoint(const char* pattern);

}  // namespace aftershock::inject
