// aftershock-ptrace: the recorder for programs LD_PRELOAD cannot reach
// (ptrace_recorder.h). Started by the launcher and by the preloaded
// recorder in place of a static program; built static itself, so that no
// preloaded recorder ever runs inside it.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "injector/ptrace_recorder.h"

int main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::printf(
        "usage: aftershock-ptrace PROGRAM ARGV0 [ARG...]\n"
        "Runs PROGRAM with the arguments ARGV0 ARG... under ptrace and records its\n"
        "file-system calls, and those of every process it starts, into the trace that\n"
        "AFTERSHOCK_TRACE names (docs/injector.md, \"Static programs\"). Exits with the\n"
        "program's status: the program runs in this process, with its pid; 2 when\n"
        "it cannot be recorded, 126/127 when it cannot be run.\n");
    return 0;
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: aftershock-ptrace PROGRAM ARGV0 [ARG...] (see --help)\n");
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  aftershock::inject::PtraceOutcome r = aftershock::inject::RecordWithPtrace(
      argv[1], args,
      [](const std::string& w) { std::fprintf(stderr, "aftershock: %s\n", w.c_str()); });
  std::fprintf(stderr, "aftershock-ptrace: %s\n", r.error.c_str());
  return r.status;
}
