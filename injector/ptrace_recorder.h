// The second recorder: for programs that LD_PRELOAD cannot reach (a
// statically linked C program, a Go program built without cgo). It runs the
// program as a ptrace tracee under a seccomp filter that stops it only at
// the calls the recorder cares about, and writes the same trace, with the
// same sequence page, fault rules and pause handshake, as the preloaded
// recorder (docs/injector.md, "Static programs"). It is the fallback, not
// the default: every stop costs two context switches.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace aftershock::inject {

// The tracer process's name (/proc/PID/comm), by which a launcher that
// adopted it tells it apart (AwaitPtraceTracers in launch.h).
inline constexpr const char kPtraceTracerName[] = "aftershock-pt";

struct PtraceOutcome {
  int status = 2;     // for the caller to exit with: 127/126 when the exec failed
  std::string error;  // why the program could not be run under the recorder
};

// Runs `program` with `argv` (argv[0] as given) and the caller's
// environment, without the preloaded recorder, in this process: it execs
// the program, after a tracer (a process of its own) has attached to it.
// The program keeps this process's pid, parent, session and exit status.
// The tracer records it and every process it starts into the trace that
// $AFTERSHOCK_TRACE names (the root, allowed prefixes and fault rules come
// from the same variables as the preloaded recorder's) until all of them
// have ended. `warn` is told, before the program starts, what it runs
// without (fault rules that did not parse). Returns only when the program
// could not be started.
PtraceOutcome RecordWithPtrace(const std::string& program, const std::vector<std::string>& argv,
                               const std::function<void(const std::string&)>& warn);

}  // namespace aftershock::inject
