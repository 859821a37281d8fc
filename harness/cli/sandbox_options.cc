#include "harness/cli/sandbox_options.h"

namespace aftershock {

void AddSandboxOptions(CLI::App* cmd, SandboxFlags* f) {
  cmd->add_flag("--no-sandbox", f->none,
                "run the target's commands unconfined: no read-only file systems, no private "
                "/tmp, no limits, no PID namespace (the report says so)");
  const char* group = "Limits per target command (0: none)";
  cmd->add_option("--max-processes", f->limits.processes, "processes alive at once")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--max-open-files", f->limits.open_files, "open files (RLIMIT_NOFILE)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--max-file-size", f->limits.file_size_mib,
                  "MiB one file may grow to (RLIMIT_FSIZE; past it: SIGXFSZ)")
      ->capture_default_str()
      ->group(group);
  cmd->add_option("--max-scratch", f->limits.scratch_mib,
                  "MiB of the run directory's tmpfs, and of each command's private /tmp and "
                  "/dev/shm (full: ENOSPC)")
      ->capture_default_str()
      ->group(group);
}

}  // namespace aftershock
