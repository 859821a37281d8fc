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

#include <cstdint>
#include <string>
#include <vector>

namespace aftershock {

// What one target command may use (0: no limit). Set with the sandbox.
struct CommandLimits {
  uint64_t processes = 512;       // tasks alive at once (a pids cgroup)
  uint64_t open_files = 4096;     // RLIMIT_NOFILE
  uint64_t file_size_mib = 1024;  // RLIMIT_FSIZE: a longer write gets SIGXFSZ
  uint64_t scratch_mib = 4096;    // the run directory's tmpfs, and each private /tmp, /dev/shm
};

// Plans the sandbox (the mounts to make read-only, from /proc/self/mountinfo)
// and tries it in a throwaway child. On success every later Launch() runs
// sandboxed, and *notes lists mount points that could not be made read-only
// (left as they are). On failure (no CAP_SYS_ADMIN and no user namespaces,
// say) nothing changes and *why says what failed.
// Inside the sandbox /tmp and /dev/shm are private tmpfs mounts (the
// writable directories under them bound back in place), and the command
// gets `limits` (rlimits here; processes in command_group.h).
bool ConfigureSandbox(const std::vector<std::string>& writable, const CommandLimits& limits,
                      std::string* why, std::vector<std::string>* notes);

// The limits of the configured sandbox (defaults when none is).
const CommandLimits& SandboxLimits();

// True iff the configured sandbox gives each command a private /tmp.
bool SandboxHasPrivateTmp();

// True iff commands get a network namespace of their own (loopback only)
// unless their request keeps the network.
bool SandboxHasOwnNetwork();

// "at most 512 processes, 4096 open files, 1024 MiB per file" (0: no limit).
std::string DescribeLimits(const CommandLimits& limits);

// Mounts a tmpfs of `mib` MiB on the (empty) directory `dir`, in this
// process's mount namespace; REQUIRES InRunNamespace() (nobody else sees
// it, and it vanishes with the namespace). False (errno set) if refused.
bool MountScratch(const std::string& dir, uint64_t mib);

// Makes the rest of this process the first process (pid 1) of a PID and
// mount namespace of its own, with /proc mounted for it. Every process a
// target command starts is inside it and is killed by the kernel when this
// process ends, however it ends: PR_SET_PDEATHSIG ties it to the process
// that called this, which only waits, forwards SIGINT, SIGTERM, SIGHUP and
// SIGQUIT, and exits with its status. Call before any thread starts.
// Returns in the namespace's first process; false (errno set, nothing
// changed) when the kernel refuses. Never returns in the waiting process.
bool EnterRunNamespace();

// True iff this process is the first of a namespace EnterRunNamespace made.
bool InRunNamespace();

// The pid the rest of the machine knows this run by: the waiting process's
// in the run's namespace (where getpid() is 1), else getpid().
int RunPid();

// Launches run unsandboxed again (tests; --no-sandbox never configures one).
void DisableSandbox();

bool SandboxActive();

// The configured sandbox as text ("" when none is), and its adoption by
// another process (the fork server's, fork_server.h, which enters it for
// each command it starts as the launcher's child would). AdoptSandbox is
// false, and changes nothing, when `spec` is malformed.
std::string SandboxSpec();
bool AdoptSandbox(const std::string& spec);

// In a forked child, before execve: enters the configured sandbox, with a
// network namespace of its own (loopback up, nothing else) unless
// `network`. Only async-signal-safe calls. False (errno set) when a step
// failed.
bool EnterSandbox(bool network = false);

}  // namespace aftershock
