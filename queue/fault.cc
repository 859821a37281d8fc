#include "fault.h"

#include <signal.h>
#include <unistd.h>

#include <array>

namespace refqueue {
namespace {

// Keep in step with the REFQUEUE_FAULT_POINT uses; tests/queue checks that
// each of these is reached by its workload.
constexpr std::array<std::string_view, 25> kFaultPoints = {
    "refqueue/enqueue/after-create",      "refqueue/enqueue/after-write",
    "refqueue/enqueue/after-fsync",       "refqueue/enqueue/after-chmod",
    "refqueue/enqueue/after-chmod-fsync", "refqueue/enqueue/after-dir-fsync",
    "refqueue/fanout/after-create",       "refqueue/fanout/after-write",
    "refqueue/fanout/after-fsync",        "refqueue/fanout/after-chmod",
    "refqueue/fanout/after-chmod-fsync",  "refqueue/fanout/after-output",
    "refqueue/fanout/after-dir-fsync",    "refqueue/fanout/after-unlink",
    "refqueue/deliver/after-handoff",     "refqueue/deliver/after-mark",
    "refqueue/deliver/after-unlink",      "refqueue/maildir/after-write",
    "refqueue/maildir/after-fsync",       "refqueue/maildir/after-link",
    "refqueue/maildir/after-new-fsync",   "refqueue/recover/after-stale-unlink",
    "refqueue/quarantine/after-rename",   "refqueue/recover/after-tmp-unlink",
    "refqueue/recover/after-done-unlink",
};

}  // namespace

void CrashHere() {
  kill(getpid(), SIGKILL);
  // SIGKILL cannot be caught; this only satisfies [[noreturn]].
  _exit(137);
}

std::span<const std::string_view> FaultPoints() { return kFaultPoints; }

}  // namespace refqueue
