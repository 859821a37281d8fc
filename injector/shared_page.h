// The small file next to a trace (`<trace>.seq`) that every process of a
// traced run maps MAP_SHARED: the one sequence counter that orders all
// records (calls, marks, process events), and the counters that make "the
// Nth call" of a fault rule count across all processes of the run, and the
// pause handshake between a paused process and the harness.
#pragma once

#include <stdint.h>

namespace aftershock::inject {

inline constexpr uint64_t kSharedPageMagic = 0x5145534b48535441ull;  // "ATSHKSEQ"
inline constexpr int kMaxRules = 32;
inline constexpr uint64_t kSharedPageSize = 4096;

struct SharedPage {
  uint64_t magic;                  // kSharedPageMagic once initialised
  uint64_t next_seq;               // next sequence number to hand out (starts at 1)
  uint64_t rule_hits[kMaxRules];   // calls that matched fault rule i so far
  uint64_t rule_fired[kMaxRules];  // 1 once rule i fired
  // Pause rules: a process about to make the paused call sets paused_pid
  // (0 -> its pid, one process at a time), wakes the futex on it, and
  // waits (futex) until resume_gen changes. The harness resumes it by
  // bumping resume_gen, then clearing paused_pid (waking both words).
  // Futex words in a MAP_SHARED file mapping: shared across processes.
  uint32_t paused_pid;
  uint32_t resume_gen;
  uint64_t pauses;  // pauses so far in this run
  // The process that resumes pauses (the harness). A paused process whose
  // controller is gone (SIGKILLed) kills itself instead of waiting forever.
  uint32_t controller_pid;
  // Rewritten call sites (injector/rewrite.cc) and the calls made through
  // them, across the run: what shows that the fast path was taken.
  uint64_t sites_rewritten;
  uint64_t fast_calls;
  // Signals the gate held back while their thread was inside the recorder.
  uint64_t signals_held;
};
static_assert(sizeof(SharedPage) <= kSharedPageSize);

// Returns the next sequence number. Lock-free; safe in a signal handler.
inline uint64_t TakeSeq(SharedPage* page) {
  return __atomic_fetch_add(&page->next_seq, 1, __ATOMIC_SEQ_CST);
}

// "<trace_path>.seq" into out (NUL-terminated). Returns false if it does not fit.
inline bool SeqPathFor(const char* trace_path, char* out, unsigned long cap) {
  unsigned long n = 0;
  while (trace_path[n] != '\0') ++n;
  if (n + 5 > cap) return false;
  for (unsigned long i = 0; i < n; ++i) out[i] = trace_path[i];
  const char* ext = ".seq";
  for (int i = 0; i < 5; ++i) out[n + i] = ext[i];
  return true;
}

}  // namespace aftershock::inject
