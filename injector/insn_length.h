// The length of an x86-64 instruction, for the few instruction kinds that
// libc's system call wrappers are made of, and the dead padding that
// follows their `ret`: where rewrite.cc may put the jump of a site too short
// to hold one. Runs inside the SIGSYS handler: no libc.
#pragma once

#include <stdint.h>

namespace aftershock::inject {

// The length of the instruction at p, or 0 when it is not one of the kinds
// known here (then nothing after it can be told apart). Reads at most 15
// bytes.
uint64_t InsnLength(const unsigned char* p);

// Decodes forward from `from`, which must be an instruction boundary, to the
// first `ret` or unconditional `jmp` followed by alignment padding (no-ops
// up to the next 16-byte boundary) of at least 5 bytes, and returns the
// padding's first byte if it is at most `limit`, else 0. Control never
// falls into bytes after an unconditional transfer, and nothing branches
// into alignment padding: the bytes are dead. Stops (0) at bytes after a
// transfer that are neither padding nor on a 16-byte boundary (a hop
// already taken, whose jump no longer decodes as padding, is never taken
// again, and decoding never runs on through its remains). Stays in from's
// page.
uint64_t FindHop(uint64_t from, uint64_t limit);

}  // namespace aftershock::inject
