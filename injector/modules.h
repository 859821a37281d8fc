// Where a recorded call came from. Frame 0 is the return address into the
// first module that is not libc, ld.so or the recorder, found by scanning
// the target's stack from the trapped frame for a word that points just
// after a call instruction in an executable mapping of such a module. Its
// callers (up to trace::kMaxCallers) come from the saved frame pointers when
// the target keeps them, else from the same scan, each checked to call the
// function of the frame below it where the call instruction says so.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "model/trace_format.h"

namespace aftershock::inject {

// One line of /proc/self/maps.
struct MapsLine {
  uint64_t start = 0;
  uint64_t end = 0;
  uint64_t offset = 0;
  bool exec = false;
  bool read = false;
  bool write = false;
  const char* path = nullptr;  // points into the parsed line; not NUL-terminated
  size_t path_len = 0;
};

// Parses one line (without its newline). Returns true iff it is well formed.
bool ParseMapsLine(const char* line, size_t n, MapsLine* out);

// True iff the module at path is one the call-site scan looks through
// (libc, ld.so, the recorder itself, libstdc++).
bool IsRuntimeModule(const char* path, size_t len);

// Re-reads /proc/self/maps (at init and after a new executable mapping).
void RebuildModules();

struct CallSite {
  uint64_t addr = 0;
  uint64_t offset = 0;
  const char* module = nullptr;
  uint32_t module_len = 0;
};

struct CallStack {
  CallSite frames[trace::kMaxCallers + 1];  // [0] is the call site
  int count = 0;
  uint8_t method = 0;  // trace::kStack* of frames[1..]
};

// The stack scan reads up to thousands of stack words per call: on code
// without frame pointers it was the recorder's largest cost. Each thread
// keeps the stacks it scanned (ThreadBuf::scanned), keyed by where frame
// 0's return address lies and what it is. A call made again from the same frame, whose
// callers' return addresses all still hold the values they had, has the
// callers it had: the words of a live frame's return addresses do not
// change while the frame lives.
struct ScannedStack {
  uint64_t generation;  // of the module map (the frames' names point into it)
  uint64_t last_used;   // ThreadBuf::scan_clock when last taken (the older way is evicted)
  const uint64_t* taken[trace::kMaxCallers + 1];  // where each frame's address was read
  uint64_t values[trace::kMaxCallers + 1];
  CallStack stack;
};
inline constexpr int kScannedStacks = 64;  // 32 sets of 2 ways

// True iff [start, start + len) overlaps a file mapping the stack walk
// reads (a module unmapped, as by dlclose: the map must be read again).
bool OverlapsModules(uint64_t start, uint64_t len);

// True iff [addr, addr + len) lies in one mapping of a runtime library
// (IsRuntimeModule) that is readable and executable but not writable.
bool IsRuntimeCode(uint64_t addr, uint64_t len);

// Finds the call site of the syscall trapped in uc and its callers.
// Returns false if there is no call site.
bool FindCallStack(const ucontext_t* uc, CallStack* out);

// Sets the top of the current thread's stack (bounds the scan).
void SetStackTop(uint64_t top);
// Sets the top of the stack a vfork-like child started on (InSharedChild):
// its TLS is its parent thread's, whose stack top stays as it was.
void SetSharedChildStackTop(uint64_t top);

}  // namespace aftershock::inject
