// Running the aftershock binary from the harness's integration tests.
// REQUIRES: the test target defines AFTERSHOCK_EXE and AFTERSHOCK_BUILD_DIR
// (tests/harness/meson.build).
#pragma once

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace aftershock::testing {

struct Result {
  int status = -1;     // exit status, or 128 + the signal that ended it
  std::string output;  // stdout, and stderr when merged
};

// Runs cmd with /bin/sh.
inline Result Shell(const std::string& cmd, bool merge_stderr = true) {
  Result r;
  FILE* p = popen((cmd + (merge_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// `aftershock ARGS` (ARGS is shell text).
inline Result Aftershock(const std::string& args, bool merge_stderr = true) {
  return Shell(AFTERSHOCK_EXE " " + args, merge_stderr);
}

// The injector registers `record`; without it commands run untraced.
inline bool RecordSupported() {
  return Aftershock("--help").output.find("\n  record") != std::string::npos;
}

// refqueue is built and the recorder is there.
inline bool RefqueueBuilt() {
  return access(AFTERSHOCK_BUILD_DIR "/queue/refqueue", X_OK) == 0 && RecordSupported();
}

}  // namespace aftershock::testing
