// Running a command under the recorder: the API the harness calls for every
// target command, and what `aftershock record` uses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aftershock {

class CommandGroup;

struct LaunchRequest {
  // What to run: `command` through /bin/sh -c, or (when command is empty)
  // `argv` directly. Untraced, a command the shell would only split into
  // words (SplitPlainCommand) whose program is on the PATH given in `env` is
  // started directly: the same for the command, and a shell less per run.
  std::string command;
  std::vector<std::string> argv;
  // Added to (or replacing entries of) this process's environment.
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;  // empty: this process's
  // stdin: `stdin_data` when has_stdin, else the file stdin_path, else /dev/null.
  bool has_stdin = false;
  std::string stdin_data;
  std::string stdin_path;
  // true: stdout and stderr are captured into LaunchOutcome::output (and
  // appended to output_path when set); false: inherited.
  bool capture_output = true;
  std::string output_path;
  int64_t timeout_ms = 0;  // 0: none. On expiry the whole process group is killed.
  // Tracing: an absolute trace path (created, with its .seq, when missing);
  // "" runs untraced (init commands, recovery, benchmarks).
  std::string trace_path;
  std::string root;                // the crash domain (AFTERSHOCK_ROOT); empty: no escape check
  std::vector<std::string> allow;  // prefixes outside root that are not escapes
  // Static programs (absolute paths) whose exec is no gap: aftershock's own
  // sink, whose effects lie outside the crash domain.
  std::vector<std::string> unrecorded;
  std::string faults;              // AFTERSHOCK_FAULTS spec; empty: none
  std::string inject_lib;          // empty: InjectLibPath()
  bool network = false;            // sandboxed: keep the machine's network (else loopback only)
  // Untraced, with output captured, a plain command whose program is a
  // dynamically linked glibc program is forked from a fork server
  // (fork_server.h) instead of exec'd; a server that cannot serve is no
  // error (it is exec'd).
  bool fork_server = false;
  // The server serves from the point the program marks (fork_server.h).
  bool fork_server_deferred = false;
  bool traced() const { return !trace_path.empty(); }
};

struct LaunchOutcome {
  enum class End { kExited, kSignaled, kTimedOut, kNotStarted };
  End end = End::kNotStarted;
  int code = 0;        // exit status, or the signal number
  std::string error;   // kNotStarted: why
  std::string limit;   // the sandbox's limit it ran into, if any ("the limit of 512 processes")
  std::string output;  // stdout + stderr, when captured
  bool forked = false;  // started by a fork server (fork_server.h), not exec'd

  bool Succeeded() const { return end == End::kExited && code == 0; }
  // "0", "3", "signal 9", "timeout", "not-started": the `exit` mark's status.
  std::string Status() const;
  // "exit 0", "exit 3", "signal 9", "timeout", "not started: ...", with
  // "(ran into LIMIT)" when it did.
  std::string Describe() const;
};

// Runs the command in a new session (its own process group) and, when the
// sandbox is on and cgroups are writable, a control group of its own
// (command_group.h). Blocks until it ends or times out. After the command's
// main process ends, anything left in its group (or process group) is
// killed, so nothing writes to the trace late.
// Thread-safe. Commands still running when the harness is interrupted are
// killed by KillAllLaunched().
LaunchOutcome Launch(const LaunchRequest& request);

// A command started without waiting, for pause rules ("pause before POINT
// nth=N" in options.faults): the harness waits until a process of the
// command is paused before a call, runs something else meanwhile, and
// resumes it. The timeout does not run while a process is paused. Pauses
// are this command's iff its own faults hold a pause rule: of the commands
// sharing one trace, at most one at a time may have one.
// Destroying a command that is still running kills its process group.
class RunningCommand {
 public:
  explicit RunningCommand(const LaunchRequest& request);
  ~RunningCommand();
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  // False iff it could not start (Wait() then says why).
  bool started() const { return started_; }
  // Blocks until a process of the command is paused by a pause rule
  // (returns its pid), or the command has ended or timed out (returns 0;
  // Wait() then returns at once). Never blocks past the timeout.
  int WaitPausedOrEnded();
  // Lets the paused process go on. REQUIRES: WaitPausedOrEnded() returned a
  // pid and Resume() was not called since.
  void Resume();
  // Blocks until the command ends (a process paused meanwhile is resumed at
  // once) or times out, and returns how it ended.
  LaunchOutcome Wait();
  // Calls of fault rule i so far in the whole run (rule_hits in the shared
  // page: a `count` rule's count). 0 for an untraced command.
  uint64_t RuleHits(int i) const;

 private:
  // Checks the recorder's library and the trace, maps the run's shared
  // page; false (result_.error set) when the command cannot be recorded.
  bool OpenTrace(const LaunchRequest& request, const std::string& lib);
  bool Reap(int wait_ms);  // true iff the command ended (or timed out)
  int PausedPid() const;   // a paused process of this command, or 0
  void Finish();

  LaunchOutcome result_;
  std::string output_path_;
  bool started_ = false;
  bool timed_out_ = false;
  int pid_ = -1;
  int pidfd_ = -1;
  int out_fd_ = -1;
  int64_t deadline_ms_ = 0;   // steady clock; 0 = none
  int64_t paused_at_ms_ = 0;  // while paused: when (the timeout stops)
  void* page_ = nullptr;      // the run's shared page (traced commands)
  bool may_pause_ = false;    // options.faults holds a pause rule
  bool done_ = false;
  int status_ = 0;
  std::unique_ptr<CommandGroup> group_;  // sandboxed: every process it starts
};

// Splits `command` into words iff /bin/sh would do nothing but split it:
// plain words and single-quoted strings; no expansion, redirection,
// operator, escape or leading assignment. Returns false otherwise.
bool SplitPlainCommand(const std::string& command, std::vector<std::string>* words);

// The environment (NAME=value entries) the launcher gives the command: this
// process's, with `env` applied and, when traced, the recorder's settings
// (stale ones of an outer run removed). For launchers of their own
// (harness/daemon.cc).
std::vector<std::string> LaunchEnvironment(const LaunchRequest& request);

// True iff traced launches can record (the injector's library is found).
bool TracingAvailable();

// SIGKILLs the process group of every command Launch() is running (each
// child of this process leads one). For the harness's cleanup thread.
void KillAllLaunched();

// Makes this process the reaper of every process its commands leave behind
// (PR_SET_CHILD_SUBREAPER): one that called setsid and outlived its command
// becomes our child instead of init's, so KillLeftovers can find it.
void AdoptLeftovers();

// Waits (at most timeout_ms) until no child of this process is a tracer of
// the ptrace recorder (ptrace_recorder.h): one that outlived the program it
// traced (which adopted it, AdoptLeftovers) is still writing its last
// records. False when one is still running.
bool AwaitPtraceTracers(int timeout_ms);

// Kills and reaps every child of this process. Only when no command is
// running (between scenarios, at the end of a run): every child is then a
// process a command left behind. Returns how many there were.
int KillLeftovers();

// Path of libaftershock_inject.so: $AFTERSHOCK_INJECT_LIB, the build tree's,
// or the installed one (the first that exists).
std::string InjectLibPath();

// Path of aftershock-ptrace, the recorder of static programs:
// $AFTERSHOCK_PTRACE when set (a path that does not exist turns it off:
// a static program is then a gap), else the build tree's, or the installed
// one.
std::string PtraceRecorderPath();

// True iff path is an ELF executable without PT_INTERP (LD_PRELOAD cannot
// reach it). False for scripts, dynamic ELFs, and unreadable files.
bool IsStaticElf(const std::string& path);

// True iff path is an ELF executable with PT_INTERP.
bool IsDynamicElf(const std::string& path);

}  // namespace aftershock
