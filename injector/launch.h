// Running a command under the recorder: the API the harness calls for every
// target command, and what `aftershock record` uses.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aftershock {

struct LaunchOptions {
  // What to run: `command` through /bin/sh -c, or (when command is empty)
  // `argv` directly.
  std::string command;
  std::vector<std::string> argv;
  // Added to (or replacing entries of) this process's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;                 // empty: this process's
  std::string root;                // the crash domain (AFTERSHOCK_ROOT); empty: no escape check
  std::string trace;               // absolute path; created (with header and .seq) when missing
  std::string faults;              // AFTERSHOCK_FAULTS spec; empty: none
  std::vector<std::string> allow;  // prefixes outside root that are not escapes
  // stdin: the given bytes (when has_stdin), else /dev/null.
  bool has_stdin = false;
  std::string stdin_data;
  // true: stdout and stderr are captured into LaunchResult::output;
  // false: inherited.
  bool capture_output = true;
  int timeout_ms = 0;      // 0: none. On expiry the whole process group is killed.
  std::string inject_lib;  // empty: InjectLibPath()
  bool record = true;      // false: run untraced (benchmarks, init commands)
};

struct LaunchResult {
  bool started = false;
  std::string error;    // why it did not start
  bool exited = false;  // exited normally, with exit_status
  int exit_status = -1;
  int signal = 0;  // killed by this signal (not timed_out)
  bool timed_out = false;
  std::string output;  // stdout + stderr, when captured

  bool ok() const { return exited && exit_status == 0; }
  // "exit 0", "exit 3", "signal 9", "timeout", "not started: ...".
  std::string Describe() const;
};

// Runs the command in a new session (its own process group). Blocks until
// it ends or times out. After the command's main process ends, anything
// left in its process group is killed, so nothing writes to the trace late.
LaunchResult Launch(const LaunchOptions& options);

// A command started without waiting, for pause rules ("pause before POINT
// nth=N" in options.faults): the harness waits until a process of the
// command is paused before a call, runs something else meanwhile, and
// resumes it. The timeout does not run while a process is paused. Pauses
// are this command's iff its own faults hold a pause rule: of the commands
// sharing one trace, at most one at a time may have one.
// Destroying a command that is still running kills its process group.
class RunningCommand {
 public:
  explicit RunningCommand(const LaunchOptions& options);
  ~RunningCommand();
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  // False iff it could not start (Wait() then says why).
  bool started() const { return result_.started; }
  // Blocks until a process of the command is paused by a pause rule
  // (returns its pid), or the command has ended or timed out (returns 0;
  // Wait() then returns at once). Never blocks past the timeout.
  int WaitPausedOrEnded();
  // Lets the paused process go on. REQUIRES: WaitPausedOrEnded() returned a
  // pid and Resume() was not called since.
  void Resume();
  // Blocks until the command ends (a process paused meanwhile is resumed at
  // once) or times out, and returns how it ended.
  LaunchResult Wait();
  // Calls of fault rule i so far in the whole run (rule_hits in the shared
  // page: a `count` rule's count). 0 for an untraced command.
  uint64_t RuleHits(int i) const;

 private:
  bool Reap(int wait_ms);  // true iff the command ended (or timed out)
  int PausedPid() const;   // a paused process of this command, or 0
  void Finish();

  LaunchResult result_;
  int pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  int timeout_ms_ = 0;
  int64_t deadline_ms_ = 0;   // steady clock; 0 = none
  int64_t paused_at_ms_ = 0;  // while paused: when (the timeout stops)
  void* page_ = nullptr;      // the run's shared page (traced commands)
  bool may_pause_ = false;    // options.faults holds a pause rule
  bool done_ = false;
  int status_ = 0;
};

// Path of libaftershock_inject.so: $AFTERSHOCK_INJECT_LIB, the build tree's,
// or the installed one (the first that exists).
std::string InjectLibPath();

// True iff path is an ELF executable without PT_INTERP (LD_PRELOAD cannot
// reach it). False for scripts, dynamic ELFs, and unreadable files.
bool IsStaticElf(const std::string& path);

}  // namespace aftershock
