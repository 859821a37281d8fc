// Internal interface between the SIGSYS handler and the per-family call
// handlers. Everything here runs inside the handler: async-signal-safe,
// raw syscalls only (raw.h), no allocation.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "injector/record.h"
#include "injector/runtime.h"

extern "C" {
void AftershockTrampPass();
void AftershockTrampSigreturn();
void AftershockTrampFork();
void AftershockTrampThread();
}

namespace aftershock::inject {

// One trapped call: number, arguments, and the saved context to edit.
struct Call {
  long nr;
  long a[6];
  ucontext_t* uc;
  greg_t* g;
};

// Makes the trapped call return raw (-errno on failure) without running it.
inline void Return(Call& c, long raw) { c.g[REG_RAX] = raw; }

// Changes argument i of a call that is then passed through.
void SetArg(Call& c, int i, long v);

// Lets the call run as the target made it (after any SetArg), from a
// trampoline inside the allowed range with the target's signal mask.
void Pass(Call& c, void (*trampoline)() = AftershockTrampPass);

// Runs the call here, in the handler (signals blocked).
long Perform(const Call& c);

// What the fault rules and libfiu say about one recorded call.
using Decision = FaultDecision;

// The frame of every recorded call: sequence number, faults, record.
class Recorded {
 public:
  Recorded(Call& c, trace::OpKind kind);
  Event& ev() { return ev_; }
  const Decision& decision() const { return d_; }
  // Takes the sequence number and consults the faults for point (and for
  // reduce_point, a write's "/reduce" point). Returns true iff the call is
  // to run; false when a fault injects an error (Finish it with -err).
  // Does not return when the process is to be killed before the call.
  bool Begin(const char* point, const char* reduce_point = nullptr);
  // Records the result; kills the process if a rule says so after the call.
  // Returns raw, to hand back to the target.
  long Finish(long raw);
  long FinishInjected() { return Finish(-d_.err); }

 private:
  Call& c_;
  Event ev_;
  Decision d_;
};

// Absolute path of `user` relative to dirfd (AT_FDCWD: the cwd) in out
// (kPathCap bytes). Returns its length, 0 if it cannot be resolved.
size_t ResolveAt(int dirfd, const char* user, char* out);

// True iff a mutation of path is outside the root and not allowed.
bool IsEscape(const char* path, size_t len);

// Refreshes the cached cwd (after chdir/fchdir).
void RefreshCwd();

[[noreturn]] void KillSelf();

// Family handlers: return true iff they took care of c.
bool HandleFileCall(Call& c);
bool HandleFdCall(Call& c);
bool HandleProcessCall(Call& c);
// True iff nr is one of the calls HandleProcessCall (or the handler itself)
// takes: they stay on Syscall User Dispatch and are never rewritten.
bool IsProcessCall(long nr);

// Serialises the writes of this process whose landing offset is read back
// from the file position afterwards.
void LockPosition();
void UnlockPosition();

// Fills the file part of ev (fd, path, dev/ino, directory and escape
// flags) from slot s; `mutation` checks the path against the root.
void DescribeFd(Event& ev, int fd, const FdSlot* s, bool mutation);

// copy_file_range, sendfile, splice (calls_copy.cc).
bool HandleCopyCall(Call& c);

// A forked child starts with the write-position lock free (the thread
// that held it in the parent does not exist in the child).
void ResetPositionLock();

// Arms Syscall User Dispatch for the calling thread.
bool ArmThisThread();

}  // namespace aftershock::inject
