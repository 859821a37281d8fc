// A crash during recovery (`nested = 1`): the recovery of an outer crash
// state is recorded (RecoverState with a trace), and every state a crash
// during it could leave is recovered again and judged against the outer
// crash's promises plus the copies the sink accepted during the crashed
// recovery. The explorer and `aftershock replay` both go through these
// functions, so a replayed nested state is the one the explorer checked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/check/mail_facts.h"
#include "harness/explore/model_adapter.h"
#include "harness/explore/recovery.h"
#include "harness/target/sink_log.h"

namespace aftershock {

// Where RecoverState records the recovery of a state recovered in `scratch`.
std::string RecoveryTracePath(const std::string& scratch);

struct RecordedRecovery {
  RecordedRun run;  // the recovery's trace, its root and initial state
  MailFacts facts;
  std::vector<SinkRecord> copies;  // what the sink accepted during it
  // The recovery wrote outside its root: RecoverState already made the
  // outer state `recovery-failed`; its crash states are not explored
  // (the model would miss what it wrote there).
  std::string escape;
  std::vector<std::string> gaps;  // UnignoredGaps of the recovery's trace
};

// Loads the recovery recorded in `scratch` by RecoverState. Returns false
// when there is nothing to explore: the recovery never started (no trace).
bool LoadRecordedRecovery(const Manifest& manifest, const std::string& scratch,
                          RecordedRecovery* out);

// The crash point of `inner` (a state of the recorded recovery): the outer
// crash's promises, plus the copies the sink accepted before the inner crash.
CrashPoint NestedPoint(const CrashPoint& outer, const RecordedRecovery& recovery,
                       const CrashStateRef& inner);

// `inner` renamed as a state of the outer one: id "OUTER/INNER".
CrashStateRef NestedState(const CrashStateRef& outer, const CrashStateRef& inner);

}  // namespace aftershock
