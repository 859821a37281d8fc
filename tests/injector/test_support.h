// Helpers for the injector's integration tests: scratch directories, runs
// under the recorder (with the fidelity check) and under strace -f, and the
// mutating calls each saw, in a form that can be compared.
#pragma once

#include <string>
#include <vector>

#include "injector/fidelity.h"
#include "injector/launch.h"
#include "model/trace.h"

namespace aftershock::testing {

// A fresh directory under /dev/shm (or $TMPDIR), removed with everything
// in it on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Path of a test program built beside the tests ($AFTERSHOCK_TEST_PROGS);
// with AFTERSHOCK_TEST_STATIC=1, its static build (<name>_static, recorded
// by the ptrace recorder) when there is one.
std::string Prog(const std::string& name);

struct RecordedRun {
  std::string root;  // the program's cwd and crash domain
  std::string trace_path;
  LaunchOutcome result;
  bool trace_ok = false;
  std::string trace_error;
  Trace trace;
  FidelityResult fidelity;
};

// Runs argv (or a shell command when argv has one element starting with
// "sh:") under the recorder, with cwd = root = <scratch>/root, then reads
// the trace and runs the fidelity check.
RecordedRun RecordIn(const ScratchDir& scratch, const std::vector<std::string>& argv,
                     const std::string& faults = "", const std::string& stdin_data = "");

// One mutating call as "kind path[ path2][ bytes][ fail]", paths relative to
// the root (absolute outside it). Temporary names are normalised.
using Mutations = std::vector<std::string>;

// The mutating calls of a recorded trace under root (file order per pid is
// kept; pids are listed in order of first appearance).
Mutations FromTrace(const Trace& trace, const std::string& root, bool escapes_too = false);

// Runs argv under `strace -f` in <scratch>/sroot and returns its mutating
// calls under that root. ok=false if strace could not run.
Mutations FromStrace(const ScratchDir& scratch, const std::vector<std::string>& argv, bool* ok,
                     bool escapes_too = false);

// Sorted copy (for runs whose processes interleave differently each time).
Mutations Sorted(Mutations m);

}  // namespace aftershock::testing
