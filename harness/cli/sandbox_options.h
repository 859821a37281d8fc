// --no-sandbox and the per-command limits (--max-processes, --max-open-files,
// --max-file-size, --max-scratch), shared by `run`, `check`, `fuzz` and
// `replay` (docs/cli.md, "Sandbox and limits").
#pragma once

#include <CLI/CLI.hpp>

#include "harness/target/run_dir.h"

namespace aftershock {

struct SandboxFlags {
  bool none = false;  // --no-sandbox
  CommandLimits limits;
};

void AddSandboxOptions(CLI::App* cmd, SandboxFlags* flags);

inline Confinement ToConfinement(const SandboxFlags& f) { return {!f.none, f.limits}; }

}  // namespace aftershock
