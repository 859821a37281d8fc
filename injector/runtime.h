// State of the recorder inside one traced process.
//
// Process-wide state lives in g_rt (static storage, set up by the
// constructor in preload.cc before dispatch is armed; afterwards only the
// SIGSYS handler touches it). Per-thread state lives in initial-exec TLS,
// so reading it in a signal handler never allocates. Large scratch buffers
// are mmap'd per thread on first use.
#pragma once

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "injector/faults.h"
#include "injector/modules.h"
#include "injector/paths.h"
#include "injector/shared_page.h"
#include "model/trace_format.h"

#define AFTERSHOCK_TLS __thread __attribute__((tls_model("initial-exec")))

namespace aftershock::inject {

inline constexpr int kMaxFds = 4096;
inline constexpr int kMaxAllow = 16;
inline constexpr int kRetStackDepth = 64;
inline constexpr uint64_t kChunkPages = 16;  // pages of a shared mapping read per syscall

enum SlotState : uint32_t {
  kSlotUnknown = 0,  // not seen yet: looked up lazily (fstat + /proc/self/fd)
  kSlotRegular,
  kSlotDirectory,
  kSlotOther,    // pipe, socket, device, memfd...: never recorded
  kSlotIgnored,  // the trace itself and the recorder's own files
};

// What the recorder knows about one file descriptor.
struct FdSlot {
  uint32_t state;
  uint32_t oflags;  // open flags as last known (O_APPEND, O_CLOEXEC...)
  uint64_t dev;
  uint64_t ino;
  uint32_t mode;
  uint32_t path_len;
  char path[4096];  // absolute path at open time (kept current across renames)
};

// The kernel's struct sigaction (rt_sigaction takes this, not libc's).
struct KSigaction {
  uint64_t handler;
  uint64_t flags;
  uint64_t restorer;
  uint64_t mask;
};

// The trace file is mapped this far (MAP_SHARED) for records to be copied
// in (record.cc); a record beyond it is written with pwritev.
inline constexpr uint64_t kTraceWindow = 256ull << 20;
// The trace file is extended (fallocate) in steps of this size.
inline constexpr uint64_t kTraceChunk = 64ull << 10;

// Strings the constructor sets once (the trace's path, the root, the
// environment kept for exec...) are packed one after another into
// Runtime::strings, so that a process writes one or two pages of them, not
// one page per string: every page of g_rt written is a copy-on-write fault
// in every recorded process, the larger part of a short process's cost.
inline constexpr size_t kStringPoolCap = 48u << 10;

struct Runtime {
  bool armed = false;
  int trace_fd = -1;
  // The trace file's header, mapped: each record's bytes are reserved from
  // its tail. Null for an older trace, which is appended to (O_APPEND).
  trace::FileHeader* trace_header = nullptr;
  // Bytes of the trace mapped at trace_header for records to be copied
  // into; 0 when every record is written with pwritev.
  uint64_t trace_window = 0;
  SharedPage* page = nullptr;
  // Each string below points into `strings` (null, length 0, when unset).
  const char* trace_path = nullptr;
  size_t trace_path_len = 0;
  const char* seq_path = nullptr;
  size_t seq_path_len = 0;
  const char* root = nullptr;
  size_t root_len = 0;
  const char* allow[kMaxAllow] = {};
  size_t allow_len[kMaxAllow] = {};
  int allow_count = 0;
  // $AFTERSHOCK_UNRECORDED: absolute paths of static programs whose exec is
  // no gap (aftershock's own sink: its effects are outside the crash domain,
  // and it appends its mark itself), ':'-separated.
  const char* unrecorded = nullptr;
  size_t unrecorded_len = 0;
  // $AFTERSHOCK_PTRACE: the ptrace recorder (ptrace_recorder.h), which an
  // execve of a static program is turned into; empty: that exec is a gap.
  const char* ptrace_path = nullptr;
  size_t ptrace_path_len = 0;
  // Environment entries put back into an execve that dropped them.
  const char* keep_env[8] = {};
  int keep_env_count = 0;
  const char* lib_path = nullptr;  // this library, for LD_PRELOAD
  size_t lib_path_len = 0;
  size_t strings_used = 0;  // bytes of `strings` taken
  size_t cwd_len = 0;
  int owner_pid = 0;
  FdSlot* fds = nullptr;       // kMaxFds slots, mmap'd
  int fd_high = 0;             // one past the highest slot ever filled
  bool fiu_active = false;     // any libfiu point may be enabled
  bool kill_by_seq = false;    // some rule kills at a sequence number
  bool pre_seq_rules = false;  // some rule pauses or counts (before the seq is taken)
  bool modules_dirty = false;
  // Rewritten call sites (rewrite.h): on unless $AFTERSHOCK_REWRITE=0.
  bool rewrite = false;
  // Another task may run this memory's code at the same time (a thread,
  // or a CLONE_VM child that is not a vfork): code is then patched only
  // by one atomic store.
  bool threaded = false;
  KSigaction target_sigsys = {};  // what the target believes SIGSYS does
  uint64_t gated = 0;
  // The signal gate (signal_gate.cc): the action the target set for each
  // signal whose handler runs behind the gate (bit sig - 1 of gated).
  KSigaction target_actions[65] = {};
  FaultPlan plan;
  // Current directory, valid only in the process that owns this memory
  // (owner_pid); a vfork child sharing it asks the kernel instead.
  char cwd[4096] = {};
  char strings[kStringPoolCap] = {};
};

extern Runtime g_rt;

// Per-thread scratch, mmap'd on first use by a thread.
struct ThreadBuf {
  char path[kPathCap];
  char path2[kPathCap];
  char scratch[kPathCap];
  FdSlot slot;  // lazily looked-up fd that does not fit the table
  FdSlot slot2;
  struct iovec iov[1024 + 8];
  char stack_part[1024];  // a record's stack part (record.cc)
  CallStack fork_stack;   // the parent's stack at a fork, for the child's kFork record
  uint64_t sigset[16];
  const char* envp[4096];
  const char* argv[4096];  // an execve's argv, rewritten to start the ptrace recorder
  char env_preload[8192];
  char read_buf[4096];
  char cwd[4096];
  uint64_t masks[kRetStackDepth][4];     // rewritten signal masks, one per nesting depth
  struct iovec short_iov[1024];          // a shortened copy of the target's iovecs
  uint64_t clone_args[16];               // a rewritten clone3 argument block
  char map_chunk[kChunkPages * 4096];    // pages of a shared mapping being captured
  ScannedStack scanned[kScannedStacks];  // modules.h
  uint64_t scan_clock;                   // ticks per use of scanned[]
  // Signals held back while this thread was inside the recorder on the
  // fast path (signal_gate.cc), raised again when it leaves.
  int held_count;
  siginfo_t held[16];
};

// Returns this thread's scratch (nullptr only if mmap failed).
ThreadBuf* Buf();
// Frees it (a thread about to exit).
void ReleaseThreadBuf();

// Process id and thread id (from the kernel: a vfork child shares memory).
int CurrentPid();
int CurrentTid();

// A new task: forgets the cached pid/tid (fork, thread), or, for a child
// that shares its parent's memory and TLS, marks itself so that pid/tid
// are asked of the kernel until its parent runs again.
void ResetIdentity(bool shares_parent_tls);
// True in a vfork-like child that shares its parent thread's TLS (between
// its start and its exec or exit).
bool InSharedChild();

// True iff this task owns the process-wide caches (cwd, fd table); a vfork
// child that shares its parent's memory does not and must not write them.
bool OwnsCaches();

}  // namespace aftershock::inject

extern "C" {
extern AFTERSHOCK_TLS char aftershock_selector;
// Return addresses of calls passed through trampolines (entry.S pops them).
struct AftershockRetStack {
  uint32_t depth;
  uint32_t pad;
  uint64_t entries[aftershock::inject::kRetStackDepth];
};
extern AFTERSHOCK_TLS AftershockRetStack aftershock_ret;
}
