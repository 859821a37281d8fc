// `aftershock record`: runs a command under the recorder and writes a trace.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "harness/cli/command.h"
#include "harness/target/command_env.h"
#include "injector/faults.h"
#include "injector/fidelity.h"
#include "injector/launch.h"
#include "injector/trace_file.h"

namespace aftershock {
namespace {

std::string Absolute(const std::string& p) {
  if (!p.empty() && p[0] == '/') return p;
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == nullptr) return p;
  return std::string(cwd) + "/" + p;
}

struct RecordArgs {
  std::string out = "aftershock.trace";
  std::string root;
  std::string faults;
  std::string faults_file;
  std::vector<std::string> allow;
  double timeout_s = 0;
  bool check = false;
  std::vector<std::string> command;
};

// Warns about each rule on a point the recorder never consults: it arms only
// a libfiu point the program itself may have (a typo arms nothing). Not an
// error, since such points are legitimate (refqueue's). The injector parses
// the spec itself and reports its errors.
void WarnUnknownPoints(const std::string& spec) {
  auto plan = std::make_unique<inject::FaultPlan>();
  char err[256];
  if (!inject::ParseFaultSpec(spec.data(), spec.size(), plan.get(), err, sizeof err)) return;
  for (int i = 0; i < plan->count; ++i) {
    const char* point = plan->rules[i].point;
    if (point[0] != '\0' && !inject::IsKnownPoint(point)) {
      std::fprintf(stderr,
                   "aftershock record: warning: '%s' is not a point the recorder consults "
                   "(docs/injector.md); only the program's own libfiu point of that name can "
                   "fire\n",
                   point);
    }
  }
}

int RunRecord(const RecordArgs& a) {
  LaunchRequest o;
  o.argv = a.command;
  o.trace_path = Absolute(a.out);
  char cwd[PATH_MAX];
  o.root = !a.root.empty() ? Absolute(a.root) : (getcwd(cwd, sizeof cwd) ? cwd : "/");
  o.faults = a.faults;
  if (!a.faults_file.empty()) {
    std::ifstream in(a.faults_file);
    if (!in) {
      std::fprintf(stderr, "aftershock record: cannot read %s\n", a.faults_file.c_str());
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    o.faults += (o.faults.empty() ? "" : "\n") + ss.str();
  }
  WarnUnknownPoints(o.faults);
  o.allow = a.allow;
  o.unrecorded = FindToolPaths().Unrecorded();
  o.capture_output = false;
  o.timeout_ms = static_cast<int64_t>(a.timeout_s * 1000);
  std::string error;
  std::string cmd;
  for (const auto& c : a.command) cmd += (cmd.empty() ? "" : " ") + c;
  char real[PATH_MAX];
  if (realpath(o.root.c_str(), real) != nullptr) o.root = real;
  std::shared_ptr<RootSnapshot> before;
  if (a.check) {
    before = SnapshotRoot(o.root, &error);
    if (!before) {
      std::fprintf(stderr, "aftershock record: --check: %s\n", error.c_str());
      return 2;
    }
  }
  if (!CreateTrace(o.trace_path, &error, o.root,
                   "command=" + cmd + "\nversion=" AFTERSHOCK_VERSION_STRING "\n")) {
    std::fprintf(stderr, "aftershock record: %s\n", error.c_str());
    return 2;
  }
  // The ptrace recorder's tracer (docs/injector.md, "Static programs") and
  // any process the command leaves behind become this process's children
  // and are reaped here: their CPU time counts as the command's.
  AdoptLeftovers();
  LaunchOutcome r = Launch(o);
  AwaitPtraceTracers(1000);  // one that outlives this wait traces a process left behind
  if (r.end == LaunchOutcome::End::kNotStarted) {
    std::fprintf(stderr, "aftershock record: %s\n", r.error.c_str());
    return 2;
  }
  std::fprintf(stderr, "aftershock: trace written to %s (%s)\n", o.trace_path.c_str(),
               r.Describe().c_str());
  if (before) {
    TraceError terr;
    std::optional<Trace> t = ReadTrace(o.trace_path, &terr);
    FidelityResult f;
    if (t) {
      f = CheckFidelity(*before, *t, o.trace_path);
    } else {
      f.gap = terr.message;
    }
    if (f.ok) {
      std::fprintf(stderr, "aftershock: fidelity check: replaying the trace reproduces %s\n",
                   o.root.c_str());
    } else {
      std::fprintf(stderr, "aftershock: fidelity check: %s\n", f.gap.c_str());
      ReportFidelityGap(o.trace_path, f);
    }
  }
  if (r.end == LaunchOutcome::End::kExited) return r.code;
  return 128 + (r.end == LaunchOutcome::End::kTimedOut ? 9 : r.code);
}

void SetupRecord(CLI::App& app, int* exit_status) {
  auto args = std::make_shared<RecordArgs>();
  CLI::App* sub = app.add_subcommand(
      "record",
      "Run COMMAND (any dynamically linked program, with its children) under the recorder and\n"
      "write a trace of every file-system call. Exit status: the command's.");
  sub->add_option("--out,-o", args->out, "trace file to write (default aftershock.trace)");
  sub->add_option("--root", args->root,
                  "the crash domain: mutations outside it are flagged as escapes (default: cwd)");
  sub->add_option(
      "--faults", args->faults,
      "fault rules, e.g. 'fail posix/io/sync/fsync nth=3 errno=EIO' (see docs/injector.md)");
  sub->add_option("--faults-file", args->faults_file, "file of fault rules, one per line");
  // One value per --allow (repeatable): a greedy vector would take the `--`
  // before the command as its end, and the command's own options as ours.
  sub->add_option("--allow", args->allow,
                  "a directory outside the root whose contents are not escapes (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--timeout", args->timeout_s,
                  "seconds before the command's process group is killed");
  sub->add_flag("--check", args->check,
                "fidelity check: replay the trace onto the root as it was before and compare with\n"
                "the directory the run left; a difference is appended to the trace as a gap");
  sub->add_option("command", args->command, "the command and its arguments (after --)")->required();
  sub->callback([args, exit_status] { *exit_status = RunRecord(*args); });
}

const bool kRegistered = RegisterCommand({"record", 10, SetupRecord});

}  // namespace
}  // namespace aftershock
