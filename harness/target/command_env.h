// What a target command gets (docs/target-contract.md, "What a command
// gets"): placeholders expanded in the command line and the same values in
// the environment, on top of the manifest's and the scenario's [env].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/target/manifest.h"
#include "model/status.h"

namespace aftershock {

// Where aftershock's own programs are.
struct ToolPaths {
  std::string sink;              // absolute path of aftershock-sink
  std::vector<std::string> bin;  // prepended to PATH (aftershock's and refqueue's dirs)

  // The programs a recording may see exec'd without a gap although they
  // are static (LaunchRequest::unrecorded): the sink, whose only effects
  // are its log, outside the root, and the mark it appends itself.
  std::vector<std::string> Unrecorded() const { return {sink}; }
};

// Finds the sink beside the running executable and the build tree's
// queue/ folder (configured at build time). $AFTERSHOCK_TARGETS_BUILD, a
// build directory, replaces both: its sink, queue/ and targets/ (the
// sanitizer build runs the plain build's programs under the recorder,
// docs/testing.md).
ToolPaths FindToolPaths();

// How aftershock itself was invoked (/proc/self/cmdline, space-joined), for
// reports; "" when it cannot be read.
std::string OwnCommandLine();

// "KEY=VALUE" options (--env) into *out, in order. The error names the
// first malformed one.
Status ParseEnvAssignments(const std::vector<std::string>& assignments, EnvList* out);

struct CommandContext {
  const Manifest* manifest = nullptr;
  const EnvList* scenario_env = nullptr;  // may be null
  const ToolPaths* tools = nullptr;
  std::string root;        // the state directory
  std::string sink_log;    // AFTERSHOCK_SINK_LOG for the sink
  std::string trace_path;  // "" = untraced
  int64_t now = 0;
  std::string id;                  // enqueue only
  std::vector<std::string> rcpts;  // enqueue only
};

// `command` with {root} {id} {rcpts} {sink} {now} {manifest_dir} replaced
// ({rcpts} shell-quoted, space-separated; paths quoted when needed).
std::string ExpandCommand(const std::string& command, const CommandContext& ctx);

// The environment to set for the command.
EnvList CommandEnvironment(const CommandContext& ctx);

}  // namespace aftershock
