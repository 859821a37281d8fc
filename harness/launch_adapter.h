// The one place the harness starts target commands and appends trace marks:
// Launch() calls the injector's launcher (injector/launch.h; traced when
// trace_path is set) and AppendTraceMark() forwards to injector/marks.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aftershock {

struct LaunchRequest {
  std::string command;  // run as /bin/sh -c COMMAND
  std::string cwd;
  std::vector<std::pair<std::string, std::string>> env;  // set on top of the harness's own
  std::string stdin_path;                                // "" = /dev/null
  std::string output_path;  // stdout and stderr, appended; "" = /dev/null
  int64_t timeout_ms = 10000;
  // Tracing (ignored by the untraced launcher): "" = untraced.
  std::string trace_path;
  std::string root;
  std::vector<std::string> allow;  // path prefixes exempt from escape detection
  std::string faults;              // injector fault spec lines, ';'-separated
};

// How much of a command's output LaunchOutcome keeps (its end).
inline constexpr size_t kOutputKeptBytes = 64 * 1024;

struct LaunchOutcome {
  enum class End { kExited, kSignaled, kTimedOut, kNotStarted };
  End end = End::kNotStarted;
  int code = 0;       // exit status, or the signal number
  std::string error;  // kNotStarted: why
  std::string output;  // what it wrote to stdout and stderr (the last kOutputKeptBytes)
  bool Succeeded() const { return end == End::kExited && code == 0; }
  // "0", "3", "signal 9", "timeout", "not-started": the `exit` mark's status.
  std::string Status() const;
};

// Runs the command in its own session and waits; past the timeout the whole
// process group is killed. Thread-safe. Commands still running when the
// harness is interrupted are killed by KillAllLaunched().
LaunchOutcome Launch(const LaunchRequest& request);

// A traced command started without waiting, for pause rules in its faults
// (injector/launch.h RunningCommand). Destroying it kills what still runs.
class StartedLaunch {
 public:
  explicit StartedLaunch(const LaunchRequest& request);
  ~StartedLaunch();
  StartedLaunch(const StartedLaunch&) = delete;
  StartedLaunch& operator=(const StartedLaunch&) = delete;
  // The pid of a process paused before a call, or 0 once the command ended.
  int WaitPausedOrEnded();
  // REQUIRES: WaitPausedOrEnded() returned a pid.
  void Resume();
  // Waits for the end (resuming any pause) and returns how it ended.
  LaunchOutcome Wait();
  // Calls counted by fault rule i of the whole run so far (a `count` rule).
  uint64_t RuleHits(int i) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits `command` into words iff /bin/sh would do nothing but split it:
// plain words and single-quoted strings; no expansion, redirection,
// operator, escape or leading assignment. Returns false otherwise.
bool SplitPlainCommand(const std::string& command, std::vector<std::string>* words);

// True iff Launch() can record traces (the injector's library is found).
bool TracingAvailable();

// SIGKILLs the process group of every command Launch() is running (each
// child of this process leads one). For the harness's cleanup thread.
void KillAllLaunched();

// Creates (truncating) an empty trace for a run of commands. Returns true
// iff done; else *error says why.
bool CreateTraceFile(const std::string& trace_path, std::string* error);

// Appends a kMark record (label, data) to the trace with the next seq.
// Returns true iff it was written.
bool AppendTraceMark(const std::string& trace_path, std::string_view label, std::string_view data);

}  // namespace aftershock
