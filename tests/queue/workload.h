// A scripted workload run one step per forked process, as the harness runs a
// target: a fault point armed in every step kills the process at its Nth hit
// (counted across the whole workload), and the workload stops there, like a
// machine that crashed. Then recovery and draining run without faults, and
// the checker compares deliveries with acknowledgements.
#ifndef TESTS_QUEUE_WORKLOAD_H_
#define TESTS_QUEUE_WORKLOAD_H_

#include <map>
#include <string>
#include <vector>

#include "refqueue.h"
#include "support.h"

namespace refqueue::testing {

struct Step {
  enum class Kind { kEnqueue, kDeliver, kRecover, kTick };
  Kind kind;
  std::string id;                  // enqueue
  std::vector<std::string> rcpts;  // enqueue
  Fanout fanout = Fanout::kWorkfile;
  int64_t seconds = 0;  // tick
};

// Both fan-out strategies, several queues, and a recover that meets a stale
// file, an invalid file, a finished file and a maildir tmp/ leftover (planted
// by RunWorkload): every fault point is reached.
std::vector<Step> StandardWorkload();

struct Kill {
  std::string point;  // a fault point name; empty: no kill
  int hit = 1;        // the process dies the hit-th time the point is reached
};

struct WorkloadResult {
  bool killed = false;           // the kill happened
  bool recovery_killed = false;  // the recovery kill happened too
  int hits = 0;                  // times the point was reached (all of them if !killed)
  bool recovery_ok = false;      // recover and every drain round exited 0
  bool drained = false;          // nothing left in incoming/ or queues/ at the end
  std::string failure;           // why recovery_ok or drained is false
  std::map<std::string, Submitted> submitted;
  Outcome outcome;
};

// Runs `steps` in a fresh root under `dir` with `base`'s options and `kill`,
// then recovers (killed by `recovery_kill`, if it hits, and then recovered
// again), drains, lets incomplete files go stale, recovers again, and checks.
WorkloadResult RunWorkload(const Sandbox& sandbox, const Options& base,
                           const std::vector<Step>& steps, const Kill& kill,
                           const Kill& recovery_kill = Kill());

// Starts an enqueue of one message that stops itself (SIGSTOP) at fault point
// `point`, runs a recover while it is stopped, lets it finish, then delivers
// and checks. No timing: the test waits for the stop, not for a clock.
WorkloadResult RunRecoverDuringEnqueue(const Sandbox& sandbox, const Options& base,
                                       const std::string& point);

// True iff a kill at `point` may leave a copy delivered but not marked done:
// the one window where a duplicate is allowed.
bool InDuplicateWindow(const std::string& point);

}  // namespace refqueue::testing

#endif  // TESTS_QUEUE_WORKLOAD_H_
