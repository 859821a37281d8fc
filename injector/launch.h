// Running a command under the recorder: the API the harness calls for every
// target command, and what `aftershock record` uses.
#pragma once

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

// Path of libaftershock_inject.so: $AFTERSHOCK_INJECT_LIB, the build tree's,
// or the installed one (the first that exists).
std::string InjectLibPath();

// True iff path is an ELF executable without PT_INTERP (LD_PRELOAD cannot
// reach it). False for scripts, dynamic ELFs, and unreadable files.
bool IsStaticElf(const std::string& path);

}  // namespace aftershock
