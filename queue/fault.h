// libfiu fault points at every durability step. When a point is enabled the
// process is killed right there with SIGKILL, as a crash would stop it: no
// destructors, no atexit handlers, no buffered output. Compiled in only when
// FIU_ENABLE is defined (meson option `fiu`); otherwise they cost nothing.
//
//   fiu-run -x -c "enable name=refqueue/enqueue/after-fsync" refqueue enqueue ...
#ifndef REFQUEUE_FAULT_H_
#define REFQUEUE_FAULT_H_

#include <fiu-local.h>

#include <span>
#include <string_view>

namespace refqueue {

// Kills the calling process with SIGKILL; never returns.
[[noreturn]] void CrashHere();

// Every fault point name compiled into the queue (whether or not FIU_ENABLE).
std::span<const std::string_view> FaultPoints();

}  // namespace refqueue

// The process is killed here when fault point `name` (a string listed in
// FaultPoints()) is enabled.
#ifdef FIU_ENABLE
#define REFQUEUE_FAULT_POINT(name) fiu_do_on(name, ::refqueue::CrashHere())
#else
#define REFQUEUE_FAULT_POINT(name) static_cast<void>(name)
#endif

#endif  // REFQUEUE_FAULT_H_
