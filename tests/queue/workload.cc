#include "workload.h"

#include <fiu-control.h>
#include <fiu.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "fs.h"
#include "queue_file_format.h"

namespace refqueue::testing {
namespace {

// Shared between the test and its forked step processes: the kill counts
// hits across processes, as one crash ends the whole machine.
struct SharedHits {
  int hits;
  int target;
};
SharedHits* g_shared = nullptr;

int KillAtHit(const char*, int*, void**, unsigned int*) {
  return ++g_shared->hits == g_shared->target ? 1 : 0;
}

int StopHere(const char*, int*, void**, unsigned int*) {
  raise(SIGSTOP);
  return 0;  // then carry on, as if nothing happened
}

enum class Ending { kOk, kFailed, kKilled };

// Forks a process that runs `step` (with `point` armed to call `callback`);
// returns its pid.
pid_t StartChild(const Options& options, const Step& step, const std::string& content,
                 const std::string& point, external_cb_t* callback) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!point.empty()) {
      fiu_init(0);
      fiu_enable_external(point.c_str(), 1, nullptr, 0, callback);
    }
    Status status = Status::Ok();
    if (step.kind == Step::Kind::kEnqueue) {
      Options with_fanout = options;
      with_fanout.fanout = step.fanout;
      std::string name;
      status = Enqueue(with_fanout, step.id, step.rcpts, content, &name);
    } else if (step.kind == Step::Kind::kDeliver) {
      DeliverStats stats;
      status = Deliver(options, &stats);
    } else {
      RecoverStats stats;
      status = Recover(options, &stats);
    }
    if (!status.ok()) fprintf(stderr, "step failed: %s\n", status.message().c_str());
    _exit(status.ok() ? 0 : 1);
  }
  return pid;
}

Ending Wait(pid_t pid) {
  if (pid < 0) return Ending::kFailed;
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
  }
  if (WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL) return Ending::kKilled;
  return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? Ending::kOk : Ending::kFailed;
}

Ending RunInChild(const Options& options, const Step& step, const std::string& content,
                  const Kill& kill) {
  return Wait(StartChild(options, step, content, kill.point, &KillAtHit));
}

void Plant(const std::string& path, const std::string& bytes, mode_t mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  std::filesystem::permissions(path, static_cast<std::filesystem::perms>(mode));
}

// Leftovers of an earlier life, for the first recover to meet.
void PlantLeftovers(const std::string& root) {
  Plant(root + "/incoming/1.zombie", "RQF1 never finished", 0600);
  Plant(root + "/queues/local/2.garbage", "RQF1 torn beyond repair", 0700);
  QueueFile finished;
  finished.id = "finished";
  finished.created_s = 3;
  finished.recipients = {{"z@remote", RcptStatus::kDone, 0}};
  finished.content = MakeMessage("finished", {"z@remote"}, 10);
  Plant(root + "/queues/remote/3.finished", Encode(&finished), 0700);
  Plant(root + "/mail/z@local/tmp/4.leftover", "half a copy", 0644);
}

Step Only(Step::Kind kind) {
  Step step{};
  step.kind = kind;
  return step;
}

bool QueuesEmpty(const std::string& root) {
  return FilesUnder(root + "/incoming").empty() && FilesUnder(root + "/queues").empty();
}

}  // namespace

std::vector<Step> StandardWorkload() {
  using K = Step::Kind;
  return {
      {K::kRecover, "", {}, Fanout::kWorkfile, 0},
      {K::kEnqueue, "m1", {"a@local", "b@remote"}, Fanout::kWorkfile, 0},
      {K::kEnqueue, "m2", {"c@local", "d@remote", "e@remote"}, Fanout::kHardlink, 0},
      {K::kEnqueue, "m3", {"a@local"}, Fanout::kWorkfile, 0},
      {K::kDeliver, "", {}, Fanout::kWorkfile, 0},
      {K::kEnqueue, "m4", {"b@remote", "f@local"}, Fanout::kHardlink, 0},
      {K::kTick, "", {}, Fanout::kWorkfile, 10},
      {K::kRecover, "", {}, Fanout::kWorkfile, 0},
      {K::kEnqueue, "m5", {"a@local", "c@local", "d@remote"}, Fanout::kWorkfile, 0},
      {K::kDeliver, "", {}, Fanout::kWorkfile, 0},
  };
}

bool InDuplicateWindow(const std::string& point) {
  return point == "refqueue/deliver/after-handoff" || point == "refqueue/maildir/after-link" ||
         point == "refqueue/maildir/after-new-fsync";
}

WorkloadResult RunWorkload(const Sandbox& sandbox, const Options& base,
                           const std::vector<Step>& steps, const Kill& kill,
                           const Kill& recovery_kill) {
  WorkloadResult result;
  void* shared =
      mmap(nullptr, sizeof(SharedHits), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    result.failure = "mmap failed";
    return result;
  }
  g_shared = static_cast<SharedHits*>(shared);
  *g_shared = {0, kill.hit};
  Options options = base;
  options.root = sandbox.root();
  PlantLeftovers(options.root);
  for (const Step& step : steps) {
    if (step.kind == Step::Kind::kTick) {
      options.now_s += step.seconds;
      continue;
    }
    std::string content;
    if (step.kind == Step::Kind::kEnqueue) {
      content = MakeMessage(step.id, step.rcpts, 200 + 37 * step.id.size());
      result.submitted[step.id] = {content, step.rcpts, false};
    }
    Ending ending = RunInChild(options, step, content, kill);
    if (ending == Ending::kFailed) {
      result.failure = "a step failed without a crash";
      break;
    }
    if (ending == Ending::kKilled) {
      result.killed = true;
      break;
    }
    if (step.kind == Step::Kind::kEnqueue) result.submitted[step.id].acked = true;
  }
  result.hits = g_shared->hits;
  // After the crash: recover (a crash during recovery is recovered by
  // recovering again), then deliver until a round delivers nothing new, then
  // let what never completed go stale and recover once more.
  *g_shared = {0, recovery_kill.hit};
  Ending first_recover = Ending::kFailed;
  if (result.failure.empty()) {
    first_recover = RunInChild(options, Only(Step::Kind::kRecover), "", recovery_kill);
  }
  munmap(shared, sizeof(SharedHits));
  g_shared = nullptr;
  if (!result.failure.empty()) return result;
  const Kill none;
  result.recovery_killed = first_recover == Ending::kKilled;
  if (result.recovery_killed) {
    first_recover = RunInChild(options, Only(Step::Kind::kRecover), "", none);
  }
  result.recovery_ok = first_recover == Ending::kOk;
  size_t delivered = sandbox.Deliveries().size();
  for (int round = 0; round < 5 && result.recovery_ok; ++round) {
    result.recovery_ok = RunInChild(options, Only(Step::Kind::kDeliver), "", none) == Ending::kOk;
    size_t now_delivered = sandbox.Deliveries().size();
    if (now_delivered == delivered && round > 0) break;
    delivered = now_delivered;
  }
  options.now_s += options.stale_after_s + 1;
  if (result.recovery_ok) {
    result.recovery_ok = RunInChild(options, Only(Step::Kind::kRecover), "", none) == Ending::kOk;
  }
  if (!result.recovery_ok) result.failure = "recover or deliver exited non-zero after the crash";
  result.drained = QueuesEmpty(options.root);
  if (!result.drained && result.failure.empty()) result.failure = "queue not empty after draining";
  result.outcome = Check(result.submitted, sandbox.Deliveries());
  return result;
}

WorkloadResult RunRecoverDuringEnqueue(const Sandbox& sandbox, const Options& base,
                                       const std::string& point) {
  WorkloadResult result;
  Options options = base;
  options.root = sandbox.root();
  Step enqueue = Only(Step::Kind::kEnqueue);
  enqueue.id = "m1";
  enqueue.rcpts = {"a@local", "b@remote"};
  std::string content = MakeMessage(enqueue.id, enqueue.rcpts, 300);
  result.submitted[enqueue.id] = {content, enqueue.rcpts, false};
  pid_t writer = StartChild(options, enqueue, content, point, &StopHere);
  int wstatus = 0;
  if (writer < 0 || waitpid(writer, &wstatus, WUNTRACED) != writer || !WIFSTOPPED(wstatus)) {
    result.failure = "the enqueue did not stop at " + point;
    return result;
  }
  result.killed = true;  // well, stopped: the point was reached
  Ending recover = RunInChild(options, Only(Step::Kind::kRecover), "", Kill());
  kill(writer, SIGCONT);
  result.submitted[enqueue.id].acked = Wait(writer) == Ending::kOk;
  result.recovery_ok = recover == Ending::kOk &&
                       RunInChild(options, Only(Step::Kind::kDeliver), "", Kill()) == Ending::kOk;
  if (!result.recovery_ok) result.failure = "recover or deliver exited non-zero";
  result.outcome = Check(result.submitted, sandbox.Deliveries());
  return result;
}

}  // namespace refqueue::testing
