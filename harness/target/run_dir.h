// The one run directory (on tmpfs unless $AFTERSHOCK_SCRATCH says otherwise)
// that holds every scratch file of a run: /dev/shm/aftershock-<pid>-<hex>/, with a `lock` file
// flock()ed for the run's lifetime. Removed on exit, SIGINT, SIGTERM and SIGHUP; a run killed
// harder leaves it behind, and the next run removes it (its lock is free).
// Nothing outside a run directory is ever removed. The process becomes the
// reaper of what its commands leave running (AdoptLeftovers), killed when
// the run directory goes (KillLeftovers).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "injector/sandbox.h"
#include "model/status.h"

namespace aftershock {

// How target commands are confined (--no-sandbox, the --max-* limits).
struct Confinement {
  bool enabled = true;
  CommandLimits limits;
};

class RunDir {
 public:
  // Removes leftovers of dead runs under `base`, creates this run's
  // directory (into *out) and arms the signal cleanup. At most one RunDir
  // per process. Without `base`: $AFTERSHOCK_SCRATCH when set (an absolute
  // directory, for targets that need a file system tmpfs is not, such as
  // FALLOC_FL_ZERO_RANGE), else /dev/shm.
  static Status Create(std::unique_ptr<RunDir>* out, const std::string& base = "");
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;

  const std::string& path() const { return path_; }
  // Keep the directory at exit (--keep-states); later runs keep it too.
  void Keep();

  // Makes every later target command run in the sandbox (injector/sandbox.h):
  // every file system read-only except this run directory, private /tmp and
  // /dev/shm, the limits. In the run's namespace (EnterRunNamespace) the run
  // directory becomes a tmpfs of limits.scratch_mib unless kept (call Keep
  // first). Returns what the report says about it: how they are confined,
  // or why they are not (--no-sandbox, or the reason the kernel refused);
  // `notes` gets mounts left writable. Without a private /tmp it sets
  // TMPDIR (for this process and every command) to a directory of the run.
  std::string ConfineTargets(const Confinement& confinement, std::vector<std::string>* notes);

  // Creates `rel` (and parents) inside the run dir; returns its path.
  std::string MakeDir(const std::string& rel);

 private:
  RunDir() = default;
  std::string LimitScratch(uint64_t mib);
  std::string path_;
  bool scratch_mounted_ = false;
  bool on_tmpfs_base_ = false;  // the default /dev/shm, not AFTERSHOCK_SCRATCH
  int lock_fd_ = -1;
  bool keep_ = false;
};

// Never returns once SIGINT/SIGTERM/SIGHUP arrived: the cleanup thread then
// owns the exit (status 128 + signal), so no report of an interrupted run is
// written and no error of a half-removed run dir reaches the user.
void WaitIfInterrupted();

// Removes the tree at `path`. REQUIRES (checked, aborts otherwise): `path` is
// strictly inside `run_dir`, or is a run directory itself of the form
// <base>/aftershock-<digits>-<hex>. Never follows symlinks. Returns true iff
// everything was removed.
bool RemoveTreeInside(const std::string& run_dir, const std::string& path);

// Removes every <base>/aftershock-<pid>-<hex> whose lock is not held and
// that has no `keep` file. Returns how many were removed.
int RemoveDeadRuns(const std::string& base);

}  // namespace aftershock
