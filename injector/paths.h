// Lexical path arithmetic for the recorder: allocation-free, no syscalls.
#pragma once

#include <stddef.h>

namespace aftershock::inject {

inline constexpr size_t kPathCap = 4096 * 2;  // room for base + relative part

// Writes the absolute, lexically normalised form of `rel` into out: rel
// itself when absolute, else base + "/" + rel ("." and empty components
// dropped, ".." removes one component, never above "/"). base must be
// absolute. Returns the length (no NUL is written past it... out[len] = 0
// when there is room), or 0 when it does not fit in cap.
size_t ResolvePath(const char* base, size_t base_len, const char* rel, size_t rel_len, char* out,
                   size_t cap);

// Returns true iff path (absolute, normalised) is dir or lies below it.
bool PathIsUnder(const char* path, size_t len, const char* dir, size_t dir_len);

// True iff path names no file of a file system the models hold: a memfd,
// /proc, /sys, or a device under /dev (the tmpfs at /dev/shm excepted,
// where scratch directories live). Mutations there are never recorded.
bool IsPseudoFilePath(const char* path, size_t len);

}  // namespace aftershock::inject
