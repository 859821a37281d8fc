// The sandbox every target command runs in (docs/injector.md, "Sandbox"):
// a mount namespace of its own in which every file system is read-only
// except the directories the run names writable (its run directory, where
// the crash domains, sink logs and traces live). A target that deletes
// through a symlink, or writes by an absolute path outside its root, gets
// EROFS instead of reaching the user's files.
//
// One per process: the harness configures it once its run directory exists
// (before any command starts); Launch() then enters it in every child.
#pragma once

#include <string>
#include <vector>

namespace aftershock {

// Plans the sandbox (the mounts to make read-only, from /proc/self/mountinfo)
// and tries it in a throwaway child. On success every later Launch() runs
// sandboxed, and *notes lists mount points that could not be made read-only
// (left as they are). On failure (no CAP_SYS_ADMIN and no user namespaces,
// say) nothing changes and *why says what failed.
bool ConfigureSandbox(const std::vector<std::string>& writable, std::string* why,
                      std::vector<std::string>* notes);

// Launches run unsandboxed again (tests; --no-sandbox never configures one).
void DisableSandbox();

bool SandboxActive();

// In a forked child, before execve: enters the configured sandbox. Only
// async-signal-safe calls. False (errno set) when a step failed.
bool EnterSandbox();

}  // namespace aftershock
