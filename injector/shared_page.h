// The small file next to a trace (`<trace>.seq`) that every process of a
// traced run maps MAP_SHARED: the one sequence counter that orders all
// records (calls, marks, process events), and the counters that make "the
// Nth call" of a fault rule count across all processes of the run.
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
