// Lazy rewriting of syscall sites (docs/injector.md, "Rewritten call
// sites"). Syscall User Dispatch stays the net that catches every call; a
// site that traps 32 times, and whose bytes are the usual `mov $NR, %eax;
// syscall`, gets its `mov` replaced by a jump to a stub that calls the
// recorder directly. Later calls from that site cost a function call, not
// a SIGSYS round trip. Runs inside the SIGSYS handler: raw syscalls only.
#pragma once

#include <signal.h>
#include <stdint.h>

#include "injector/dispatch.h"

namespace aftershock::inject {

// Reads the size of the register state the fast path saves (CPUID leaf
// 0xD). Returns false when the CPU cannot save it (no XSAVE): then nothing
// is rewritten.
bool InitRewriting();

// Called by the SIGSYS handler for every call it has handled (nr, and rip
// as the call trapped): counts the call's site and rewrites it on its
// 32nd trap when it qualifies.
void MaybeRewrite(long nr, uint64_t rip);

// Puts back the `mov` of every rewritten site and rewrites no more: a
// thread that replaced its thread pointer (arch_prctl(ARCH_SET_FS)) may
// still run libc's wrappers, and the fast path lives on TLS.
void UndoRewrites();

// The signals of the target that arrive while its thread is inside the
// recorder on the fast path are held back and raised again when it leaves
// (signal_gate.cc): the recorder's per-thread state is not reentrant, and
// the fast path does not block signals (two syscalls a call).
void EnterRecorder();
void LeaveRecorder();
bool InRecorder();
void RaiseHeldSignals();

// rt_sigaction for a signal other than SIGSYS: installs the gate in front
// of a handler the target sets, and shows the target its own. Returns true
// iff it took care of the call.
bool GateSigAction(Call& c);

}  // namespace aftershock::inject

extern "C" {
// Bytes of the XSAVE area the fast path keeps the target's vector
// registers in (a multiple of 64); 0 when rewriting is off.
extern uint64_t aftershock_xsave_size;
// Where a stub jumps (entry.S).
void AftershockFastEntry();
// The handler installed in front of each of the target's (signal_gate.cc).
void AftershockSignalGate(int sig, siginfo_t* si, void* uc);
}
