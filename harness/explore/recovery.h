// Runs the target's recovery on one crash state: materialize it in a scratch
// directory, `recover`, then `deliver` until a round delivers nothing new,
// and collect every copy delivered (before the crash and after).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "harness/check/checker.h"
#include "harness/target/command_env.h"
#include "harness/check/mail_facts.h"
#include "harness/target/manifest.h"
#include "harness/explore/model_adapter.h"
#include "harness/explore/recorder.h"
#include "harness/target/scenario.h"
#include "harness/target/sink_log.h"

namespace aftershock {

// Everything fixed for one recording, shared (read-only) by the workers.
struct RecoveryPlan {
  const Scenario* scenario = nullptr;
  const Manifest* manifest = nullptr;
  const ToolPaths* tools = nullptr;
  const Recording* recording = nullptr;
  const MailFacts* facts = nullptr;
  // Copies the sink accepted while recording, by xxh64 hex.
  std::map<std::string, std::string> recorded_copies;
};

// Loads the recording's marks and sink log into *plan.
Status PreparePlan(RecoveryPlan* plan, MailFacts* facts);

// What held when the crash struck: the promises, and the copies the sink
// had already accepted (durable whatever the crash did to the queue).
struct CrashPoint {
  std::set<Pair> acked;
  std::set<std::string> submitted;  // messages whose enqueue had started
  std::vector<DeliveredCopy> before;
  int64_t now = 0;  // the virtual clock
  // Identity of the promises, for VerdictCache keys.
  uint64_t Key() const;
};

// The crash point at `crash_seq` of the workload's trace.
CrashPoint PointOf(const RecoveryPlan& plan, uint64_t crash_seq);

// The fork server's check (manifest commands.fork_server, injector/
// fork_server.h): the first kStates states of a scenario whose recovery may
// be forked are recovered both ways, exec'd and forked, and the exec'd
// verdict counts; states taken before those comparisons are all in are
// exec'd. A difference turns the fork server off for the rest of the
// scenario and leaves a note. Thread-safe.
class ForkServerCheck {
 public:
  static constexpr int kStates = 3;
  enum class Mode { kExec, kFork, kCompare };
  // How the next state is recovered.
  Mode Next();
  // Both ways were run on `state`; `difference` is empty when they agreed.
  void Compared(const std::string& state, const std::string& difference);
  // "" while the fork server agreed (or was not used).
  std::string Note() const;

 private:
  mutable std::mutex mu_;
  int asked_ = 0, compared_ = 0;
  bool off_ = false;
  std::string note_;
};

// Materializes `state` into `scratch`/root (scratch must not exist or be
// empty), recovers and drains it, and fills the checker's input. With
// `recover_trace`, the recover command is recorded there (and the state is
// also materialized into `scratch`/initial, the recording's initial state)
// so that crashes during recovery can be explored. An error only when the
// harness itself failed; a failing target is a recovery_failure inside
// *input.
// `fork_server` false execs every command whatever the manifest says.
Status RecoverState(const RecoveryPlan& plan, const CrashStateRef& state, const CrashPoint& point,
                    const std::string& scratch, CheckInput* input,
                    const std::string& recover_trace = "", bool fork_server = true);

}  // namespace aftershock
