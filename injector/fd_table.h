// The recorder's view of the target's file descriptors: fd -> {path, dev,
// ino, flags}. Slots are filled when the recorder sees the open or dup that
// made them, or lazily (fstat + /proc/self/fd) the first time an fd it did
// not see is used; they are cleared on close, so a reused number is always
// looked up afresh. A forked child inherits a copy of the table with its
// memory; a new image starts from an empty table (lazy lookups rebuild it,
// and close-on-exec fds are gone by then).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "injector/runtime.h"

namespace aftershock::inject {

// Returns what is known about fd (looking it up if needed). Never null:
// fds outside the table, or any fd in a task that does not own the caches,
// are described in per-thread scratch (valid until the next call).
// `second` selects the second scratch slot (for calls with two fds).
const FdSlot* LookupFd(int fd, bool second = false);

// Records that fd now refers to the file opened at path (fstat's it).
// Returns the slot (scratch when fd is outside the table).
const FdSlot* RememberOpen(int fd, const char* path, size_t len, uint32_t oflags);

void ForgetFd(int fd);
// dup/dup2/dup3/F_DUPFD: `to` now shares `from`'s file.
void CopyFd(int from, int to, bool cloexec);
void SetFdFlags(int fd, uint32_t oflags);
// After a successful rename: slots whose path is old (or below it) follow.
void RenameInTable(const char* old_path, size_t old_len, const char* new_path, size_t new_len);

// True iff path names the trace or another file of the recorder.
bool IsRecorderPath(const char* path, size_t len);
// True iff mutations of path are never recorded (pseudo file systems).
bool IsUnrecordedPath(const char* path, size_t len);

}  // namespace aftershock::inject
