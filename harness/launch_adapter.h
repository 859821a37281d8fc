// The one place the harness starts target commands and appends trace marks.
// TODO(injector): when injector/launch.h and injector/marks.h land on main,
// Launch() calls the injector's launcher (traced when trace_path is set) and
// AppendMark() forwards to injector/marks.h; until then commands run untraced
// through posix_spawn and marks are appended with model/trace.h's writer.
#pragma once

#include <cstdint>
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

struct LaunchOutcome {
  enum class End { kExited, kSignaled, kTimedOut, kNotStarted };
  End end = End::kNotStarted;
  int code = 0;       // exit status, or the signal number
  std::string error;  // kNotStarted: why
  bool Succeeded() const { return end == End::kExited && code == 0; }
  // "0", "3", "signal 9", "timeout", "not-started": the `exit` mark's status.
  std::string Status() const;
};

// Runs the command in its own process group and waits; past the timeout the
// whole group is killed. Thread-safe. Groups still running when the harness
// is interrupted are killed by KillAllLaunched().
LaunchOutcome Launch(const LaunchRequest& request);

// True iff Launch() records traces (the injector is linked in).
bool TracingAvailable();

// SIGKILLs every process group Launch() is waiting for. Async-signal-safe
// enough for the harness's signal thread (no allocation).
void KillAllLaunched();

// Appends a kMark record (label, data) to the trace with the next seq.
// Returns true iff it was written.
bool AppendTraceMark(const std::string& trace_path, std::string_view label, std::string_view data);

}  // namespace aftershock
