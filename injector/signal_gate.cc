// The signal gate. A call from a rewritten site runs the recorder on the
// target's own stack with the target's signal mask (blocking every signal
// would cost two syscalls a call, more than the trap it saves). The
// recorder's per-thread state is not reentrant, so a handler of the target
// must not run while its thread is inside: every handler the target
// installs is installed behind AftershockSignalGate, which runs it at once
// or, inside the recorder, holds the signal and has it raised again when
// the thread leaves. The target sees the handlers it set.
#include <signal.h>

#include "injector/raw.h"
#include "injector/rewrite.h"
#include "injector/runtime.h"

namespace aftershock::inject {
namespace {

constexpr uint64_t kSaRestorer = 0x04000000;
constexpr uint64_t kSigsysBit = 1ull << (SIGSYS - 1);
constexpr int kFirstRtSignal = 32;  // the kernel's; a standard signal is pending at most once

// The thread inside the recorder on the fast path (0: none). Per thread;
// a vfork-like child shares it with its parent thread, so it holds the tid.
AFTERSHOCK_TLS int t_inside;

bool IsHandler(uint64_t h) {
  return h != reinterpret_cast<uint64_t>(SIG_DFL) && h != reinterpret_cast<uint64_t>(SIG_IGN);
}

// A fault raised by the instruction that runs: holding it back would run
// the instruction, and fault, again.
bool IsSynchronous(int sig, const siginfo_t* si) {
  bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGTRAP;
  return fault && si != nullptr && si->si_code > 0;
}

// Keeps sig to raise again. Returns false when there is no room.
bool Hold(int sig, const siginfo_t* si) {
  ThreadBuf* b = Buf();
  if (b == nullptr) return false;
  constexpr int kCap = static_cast<int>(sizeof b->held / sizeof b->held[0]);
  for (int i = 0; i < b->held_count && sig < kFirstRtSignal; ++i) {
    if (b->held[i].si_signo == sig) return true;
  }
  if (b->held_count == kCap) return false;
  MemCopy(&b->held[b->held_count], si, sizeof *si);
  b->held[b->held_count].si_signo = sig;
  ++b->held_count;
  if (g_rt.page != nullptr) __atomic_add_fetch(&g_rt.page->signals_held, 1, __ATOMIC_RELAXED);
  return true;
}

void RunTargetHandler(int sig, siginfo_t* si, void* uc) {
  uint64_t bit = 1ull << (sig - 1);
  KSigaction a = g_rt.target_actions[sig];
  if ((g_rt.gated & bit) == 0 || !IsHandler(a.handler)) return;  // reset meanwhile
  if ((a.flags & SA_RESETHAND) != 0) {
    // Done here, not by the kernel: a held signal must still find it.
    g_rt.gated &= ~bit;
    KSigaction dfl = {reinterpret_cast<uint64_t>(SIG_DFL), a.flags & kSaRestorer, a.restorer, 0};
    Sys(SYS_rt_sigaction, sig, A(&dfl), 0, 8);
  }
  if ((a.flags & SA_SIGINFO) != 0) {
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(a.handler)(sig, si, uc);
  } else {
    reinterpret_cast<void (*)(int)>(a.handler)(sig);
  }
}

}  // namespace

void EnterRecorder() { t_inside = CurrentTid(); }

void LeaveRecorder() { t_inside = 0; }

bool InRecorder() { return t_inside != 0 && t_inside == CurrentTid(); }

void RaiseHeldSignals() {
  ThreadBuf* b = Buf();
  if (b == nullptr || b->held_count == 0) return;
  int n = b->held_count;
  b->held_count = 0;
  long pid = CurrentPid(), tid = CurrentTid();
  for (int i = 0; i < n; ++i) {
    int sig = b->held[i].si_signo;
    // With its siginfo where the kernel allows it (any code to one's own
    // thread group leader), else as a plain signal.
    if (IsErr(Sys(SYS_rt_tgsigqueueinfo, pid, tid, sig, A(&b->held[i])))) {
      Sys(SYS_tgkill, pid, tid, sig);
    }
  }
}

bool GateSigAction(Call& c) {
  int sig = static_cast<int>(c.a[0]);
  if (!g_rt.rewrite || sig < 1 || sig > 64 || sig == SIGSYS || c.a[3] != 8) return false;
  // A vfork-like child shares this table with its parent: it may reset
  // handlers (posix_spawn does) but not take the parent's gate.
  if (InSharedChild()) return false;
  const KSigaction* act = reinterpret_cast<const KSigaction*>(c.a[1]);
  KSigaction* old = reinterpret_cast<KSigaction*>(c.a[2]);
  uint64_t bit = 1ull << (sig - 1);
  KSigaction want = act != nullptr ? *act : KSigaction{};
  KSigaction k = want;
  k.mask &= ~kSigsysBit;  // a handler's own calls must trap
  if (IsHandler(k.handler)) {
    k.handler = reinterpret_cast<uint64_t>(AftershockSignalGate);
    k.flags = (k.flags | SA_SIGINFO) & ~static_cast<uint64_t>(SA_RESETHAND);
  }
  KSigaction target_old = g_rt.target_actions[sig];
  bool was_gated = (g_rt.gated & bit) != 0;
  KSigaction kernel_old;
  long r = Sys(SYS_rt_sigaction, sig, act != nullptr ? A(&k) : 0,
               old != nullptr ? A(&kernel_old) : 0, 8);
  if (!IsErr(r) && act != nullptr) {
    g_rt.target_actions[sig] = want;
    g_rt.gated = IsHandler(want.handler) ? g_rt.gated | bit : g_rt.gated & ~bit;
  }
  if (!IsErr(r) && old != nullptr) *old = was_gated ? target_old : kernel_old;
  Return(c, r);
  return true;
}

}  // namespace aftershock::inject

using namespace aftershock::inject;

extern "C" __attribute__((visibility("hidden"))) void AftershockSignalGate(int sig, siginfo_t* si,
                                                                           void* uc) {
  if (InRecorder() && !IsSynchronous(sig, si) && Hold(sig, si)) return;
  RunTargetHandler(sig, si, uc);
}
