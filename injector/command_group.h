// A control group per target command (docs/injector.md, "Sandbox"): every
// process the command starts, including one that called setsid, is counted
// against a process limit and killed when the command ends.
//
// Two hierarchies may serve: cgroup v2 (cgroup.kill kills the whole group
// at once; pids.max when the pids controller is enabled there) and, where
// the pids controller is still on cgroup v1, a v1 pids group for the limit.
// Where neither is writable (no privilege, no delegation) the group is
// inactive and the launcher falls back on the process group and the run's
// PID namespace.
#pragma once

#include <cstdint>
#include <string>

#include <sys/types.h>

namespace aftershock {

class CommandGroup {
 public:
  // Creates the group's directories; `max_processes` 0 sets no limit.
  explicit CommandGroup(uint64_t max_processes);
  ~CommandGroup();  // KillAll(), then removes the directories
  CommandGroup(const CommandGroup&) = delete;
  CommandGroup& operator=(const CommandGroup&) = delete;

  bool active() const { return !kill_dir_.empty() || !pids_dir_.empty(); }

  // What groups made here can do: kill every member at once (cgroup v2),
  // limit the processes (a pids controller). Found once per process.
  static bool CanKillAll();
  static bool CanLimitProcesses();
  // In the forked child, before execve: moves it into the group.
  // Async-signal-safe.
  void JoinFromChild() const;
  // From this process: moves `pid` (a child that waits to be let go, the
  // fork server's) into the group. False if the kernel refused.
  bool Join(pid_t pid) const;
  // In the parent after the fork: closes what only the child needed.
  void AfterFork();
  // Kills every process in the group and waits (at most a second) until
  // none is left.
  void KillAll();
  // True iff the kernel refused a fork of the command for the limit.
  bool HitLimit() const;

 private:
  std::string kill_dir_;  // v2 group ("" if none)
  std::string pids_dir_;  // group holding pids.max (may equal kill_dir_)
  int kill_procs_ = -1;   // open cgroup.procs of each, for the child
  int pids_procs_ = -1;
};

}  // namespace aftershock
