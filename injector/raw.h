// Raw system calls for code that runs inside the traced process.
//
// Every syscall the recorder makes goes through AftershockSyscall6
// (entry.S), whose `syscall` instruction lies in the range that Syscall User
// Dispatch lets through. Never call libc's wrappers from handler code: their
// `syscall` instructions trap. Results are raw: -errno on failure.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

extern "C" long AftershockSyscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

namespace aftershock::inject {

inline long Sys(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                long a6 = 0) {
  return AftershockSyscall6(nr, a1, a2, a3, a4, a5, a6);
}

template <typename T>
inline long A(T v) {
  return (long)(v);
}

inline bool IsErr(long r) { return r < 0 && r > -4096; }

// Allocation-free string helpers (libc's string functions are safe too, but
// these keep the handler independent of what the target interposes).
inline size_t StrLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}
inline void MemCopy(void* dst, const void* src, size_t n) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
}
inline bool MemEq(const void* a, const void* b, size_t n) {
  const char* x = static_cast<const char*>(a);
  const char* y = static_cast<const char*>(b);
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}
inline bool StartsWith(const char* s, size_t n, const char* prefix) {
  size_t p = StrLen(prefix);
  return n >= p && MemEq(s, prefix, p);
}
// Writes the decimal form of v at out (no NUL); returns its length.
inline size_t FormatU64(uint64_t v, char* out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace aftershock::inject
