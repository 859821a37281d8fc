// Process events (clone/fork/vfork, execve, exit_group) and the protection
// of the mechanism itself: SIGSYS can be neither blocked nor replaced,
// dispatch cannot be switched off, io_uring cannot bypass the recorder.
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "injector/dispatch.h"
#include "injector/fd_table.h"
#include "injector/mappings.h"
#include "injector/modules.h"
#include "injector/raw.h"
#include "injector/rewrite.h"
#include "injector/runtime.h"

namespace aftershock::inject {

// Handed from the parent to a new child through (copied or shared) TLS.
AFTERSHOCK_TLS uint64_t t_pending_clone_flags;
AFTERSHOCK_TLS uint64_t t_pending_fork_seq;
AFTERSHOCK_TLS int t_pending_parent;

namespace {

using trace::OpKind;

constexpr uint64_t kPendingValid = 1ull << 63;
constexpr uint64_t kSigsysBit = 1ull << (SIGSYS - 1);
constexpr size_t kUcSigmaskOffset = 296;  // offsetof(struct ucontext, uc_sigmask), x86_64

bool Clone(Call& c, uint64_t flags, uint64_t child_sp) {
  t_pending_clone_flags = flags | kPendingValid;
  t_pending_fork_seq = (flags & CLONE_THREAD) ? 0 : NextSeq();
  t_pending_parent = CurrentPid();
  if ((flags & CLONE_VM) != 0 && (flags & CLONE_VFORK) == 0) g_rt.threaded = true;
  if (ThreadBuf* b = Buf()) {
    // The child writes the kFork record; the call site is the parent's.
    b->fork_stack.count = 0;
    if ((flags & CLONE_THREAD) == 0) FindCallStack(c.uc, &b->fork_stack);
  }
  if ((flags & CLONE_VM) != 0 && child_sp != 0) {
    // The child starts on its own stack: leave it the way back.
    *reinterpret_cast<uint64_t*>(child_sp - 8) = static_cast<uint64_t>(c.g[REG_RIP]);
    Pass(c, AftershockTrampThread);
    return true;
  }
  if ((flags & CLONE_VM) != 0) {
    // A vfork on the parent's own stack: the child would pop the parent's
    // return address. Run it as a fork (what vfork may always be).
    uint64_t plain = flags & ~uint64_t{CLONE_VM | CLONE_VFORK};
    t_pending_clone_flags = plain | kPendingValid;
    if (c.nr == SYS_clone) {
      SetArg(c, 0, static_cast<long>(plain));
    } else {
      ThreadBuf* b = Buf();
      size_t size = static_cast<size_t>(c.a[1]);
      if (b == nullptr || size > sizeof b->clone_args) return false;
      MemCopy(b->clone_args, reinterpret_cast<const void*>(c.a[0]), size);
      b->clone_args[0] = plain;
      SetArg(c, 0, A(b->clone_args));
    }
  }
  Pass(c, AftershockTrampFork);
  return true;
}

// Looks for PT_INTERP in the ELF file at path (following one "#!").
// Returns true iff it is a dynamically linked ELF (or not an ELF at all).
bool IsDynamic(const char* path, int depth) {
  ThreadBuf* b = Buf();
  if (b == nullptr) return true;
  long fd = Sys(SYS_open, A(path), O_RDONLY | O_CLOEXEC);
  if (IsErr(fd)) return true;  // execve will fail on its own
  long n = Sys(SYS_pread64, fd, A(b->read_buf), sizeof b->read_buf, 0);
  Sys(SYS_close, fd);
  if (n < 4) return true;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(b->read_buf);
  if (p[0] == '#' && p[1] == '!' && depth == 0) {
    char interp[256];
    size_t i = 2;
    while (i < static_cast<size_t>(n) && (p[i] == ' ' || p[i] == '\t')) ++i;
    size_t k = 0;
    while (i < static_cast<size_t>(n) && p[i] != ' ' && p[i] != '\t' && p[i] != '\n' &&
           k + 1 < sizeof interp) {
      interp[k++] = static_cast<char>(p[i++]);
    }
    interp[k] = '\0';
    return k == 0 || IsDynamic(interp, 1);
  }
  if (n < 64 || p[0] != 0x7f || p[1] != 'E' || p[2] != 'L' || p[3] != 'F') return true;
  uint64_t phoff = *reinterpret_cast<const uint64_t*>(p + 32);
  uint16_t phentsize = *reinterpret_cast<const uint16_t*>(p + 54);
  uint16_t phnum = *reinterpret_cast<const uint16_t*>(p + 56);
  for (uint16_t i = 0; i < phnum; ++i) {
    uint64_t off = phoff + uint64_t{i} * phentsize;
    if (off + 4 > static_cast<uint64_t>(n)) return true;  // cannot tell: assume dynamic
    if (*reinterpret_cast<const uint32_t*>(p + off) == 3 /* PT_INTERP */) return true;
  }
  return false;
}

bool HasEntry(const char* const* envp, const char* entry) {
  size_t eq = 0;
  while (entry[eq] != '=' && entry[eq] != '\0') ++eq;
  size_t len = StrLen(entry);
  for (; *envp != nullptr; ++envp) {
    if (StartsWith(*envp, StrLen(*envp), entry) && len > eq) return true;
  }
  return false;
}

// True iff entry sets one of the recorder's control variables (which
// keep_env puts back); the contract's AFTERSHOCK_ID, _NOW... pass through.
bool IsKeptEntry(const char* entry, size_t len) {
  for (int i = 0; i < g_rt.keep_env_count; ++i) {
    const char* k = g_rt.keep_env[i];
    size_t eq = 0;
    while (k[eq] != '=' && k[eq] != '\0') ++eq;
    if (len > eq && entry[eq] == '=' && MemEq(entry, k, eq)) return true;
  }
  return false;
}

// True iff envp names a trace other than ours, or none (an empty value): a
// recorded aftershock launching its target asked for a recording of its own,
// or for none, and the new image is that recorder's, not ours (its
// AFTERSHOCK_ROOT is its crash domain, which ours must not replace). A
// program that dropped the variable altogether gets ours back.
bool NamesAnotherTrace(const char* const* envp) {
  static const char kKey[] = "AFTERSHOCK_TRACE=";
  const size_t key_len = sizeof kKey - 1;
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    size_t el = StrLen(*envp);
    if (el < key_len || !StartsWith(*envp, el, kKey)) continue;
    for (int i = 0; i < g_rt.keep_env_count; ++i) {
      const char* k = g_rt.keep_env[i];
      if (StrLen(k) == el && MemEq(k, *envp, el)) return false;  // ours
    }
    return true;
  }
  return false;
}

// Puts the recorder's environment back if the target dropped it, so that
// the new image is recorded too; leaves a nested recording's alone.
void FixEnvironment(Call& c, int envp_arg) {
  const char* const* envp = reinterpret_cast<const char* const*>(c.a[envp_arg]);
  ThreadBuf* b = Buf();
  if (b == nullptr) return;
  if (NamesAnotherTrace(envp)) return;
  bool ok = envp != nullptr;
  for (int i = 0; ok && i < g_rt.keep_env_count; ++i) ok = HasEntry(envp, g_rt.keep_env[i]);
  const char* preload = nullptr;
  if (envp != nullptr) {
    for (const char* const* e = envp; *e != nullptr; ++e) {
      if (StartsWith(*e, StrLen(*e), "LD_PRELOAD=")) preload = *e + 11;
    }
  }
  bool has_lib = false;
  if (preload != nullptr) {
    size_t pl = StrLen(preload);
    for (size_t i = 0; i + g_rt.lib_path_len <= pl; ++i) {
      if (MemEq(preload + i, g_rt.lib_path, g_rt.lib_path_len)) has_lib = true;
    }
  }
  if (ok && has_lib) return;
  size_t n = 0;
  const size_t cap = sizeof b->envp / sizeof b->envp[0] - g_rt.keep_env_count - 2;
  if (envp != nullptr) {
    for (const char* const* e = envp; *e != nullptr && n < cap; ++e) {
      size_t el = StrLen(*e);
      if (StartsWith(*e, el, "LD_PRELOAD=") || IsKeptEntry(*e, el)) continue;
      b->envp[n++] = *e;
    }
  }
  for (int i = 0; i < g_rt.keep_env_count; ++i) b->envp[n++] = g_rt.keep_env[i];
  size_t k = 0;
  const char* key = "LD_PRELOAD=";
  for (const char* q = key; *q != '\0'; ++q) b->env_preload[k++] = *q;
  MemCopy(b->env_preload + k, g_rt.lib_path, g_rt.lib_path_len);
  k += g_rt.lib_path_len;
  if (preload != nullptr && !has_lib) {
    size_t pl = StrLen(preload);
    if (k + 1 + pl + 1 < sizeof b->env_preload) {
      b->env_preload[k++] = ':';
      MemCopy(b->env_preload + k, preload, pl);
      k += pl;
    }
  }
  b->env_preload[k] = '\0';
  b->envp[n++] = b->env_preload;
  b->envp[n] = nullptr;
  SetArg(c, envp_arg, A(b->envp));
}

// True iff path (len bytes) is one of $AFTERSHOCK_UNRECORDED's entries.
bool Unrecorded(const char* path, size_t len) {
  const char* v = g_rt.unrecorded;
  const char* end = v + g_rt.unrecorded_len;
  while (v < end) {
    const char* colon = v;
    while (colon < end && *colon != ':') ++colon;
    if (static_cast<size_t>(colon - v) == len && MemEq(v, path, len)) return true;
    v = colon + 1;
  }
  return false;
}

// execve(path, argv, envp) of a static program becomes execve(recorder,
// {recorder, path, argv...}, envp): the ptrace recorder runs it
// (ptrace_recorder.h). False when there is none or the argv does not fit.
bool ExecUnderPtrace(Call& c, ThreadBuf* b) {
  const char* const* argv = reinterpret_cast<const char* const*>(c.a[1]);
  const size_t cap = sizeof b->argv / sizeof b->argv[0] - 3;
  if (g_rt.ptrace_path_len == 0 || c.nr != SYS_execve) return false;
  size_t n = 0;
  b->argv[n++] = g_rt.ptrace_path;
  b->argv[n++] = b->path;
  for (; argv != nullptr && argv[n - 2] != nullptr; ++n) {
    if (n >= cap) return false;
    b->argv[n] = argv[n - 2];
  }
  if (n == 2) b->argv[n++] = b->path;  // no argv[0]: the program's path stands in
  b->argv[n] = nullptr;
  SetArg(c, 0, A(g_rt.ptrace_path));
  SetArg(c, 1, A(b->argv));
  return true;
}

bool Exec(Call& c, int dirfd, const char* path, int envp_arg) {
  ThreadBuf* b = Buf();
  if (b != nullptr && path != nullptr) {
    size_t len = ResolveAt(dirfd, path, b->path);
    // The ptrace recorder itself (started by a recorder inside the
    // recording) is a recorder, not a target.
    bool recorder = len == g_rt.ptrace_path_len && MemEq(b->path, g_rt.ptrace_path, len);
    if (len > 0 && !recorder && !IsDynamic(b->path, 0) && !Unrecorded(b->path, len) &&
        !ExecUnderPtrace(c, b)) {
      EmitGap("static binary: LD_PRELOAD cannot reach it, its calls are not recorded", b->path, len,
              c.uc);
    }
  }
  CaptureMappings(c.nr, c.uc);  // the new image will not have the mappings
  FixEnvironment(c, envp_arg);
  Pass(c);
  return true;
}

// exit and exit_group never return. A vfork-like child, which shares its
// parent thread's TLS, makes them here: passed through a trampoline, the
// return address it pushes would stay on the return stack the two share,
// and the parent, once resumed, would pop it and jump into the child's
// _exit (SIGSEGV: posix_spawn's child exits so when its exec fails).
void ExitHereIfSharedChild(const Call& c) {
  if (InSharedChild()) Perform(c);
}

bool ExitGroup(Call& c) {
  CaptureMappings(c.nr, nullptr);
  Event ev = NewEvent(OpKind::kExit, c.nr);
  ev.h.result = c.a[0];
  Emit(&ev, nullptr);  // no call site: reading the module map is not worth it here
  ExitHereIfSharedChild(c);
  Pass(c);
  return true;
}

// A shared mapping of a regular file opened for writing (PROT_WRITE now, or
// later through mprotect) is made here, so that its address is known, and
// tracked (mappings.h): the stores through it are recorded as writes.
bool Mmap(Call& c) {
  long prot = c.a[2];
  long flags = c.a[3];
  int fd = static_cast<int>(c.a[4]);
  if ((flags & MAP_FIXED) != 0) {
    // A fixed mapping replaces what was there: a tracked mapping ends here.
    CaptureMappings(c.nr, c.uc);
    UntrackRange(static_cast<uint64_t>(c.a[0]), static_cast<uint64_t>(c.a[1]), c.uc);
  }
  if (fd < 0 || (flags & MAP_ANONYMOUS) != 0) return false;
  if ((prot & PROT_EXEC) != 0) g_rt.modules_dirty = true;
  if ((flags & MAP_TYPE) == MAP_PRIVATE) return false;
  const FdSlot* s = LookupFd(fd);
  bool writable = (prot & PROT_WRITE) != 0 || (s->oflags & O_ACCMODE) == O_RDWR;
  if (s->state != kSlotRegular || !writable || !OwnsCaches()) return false;
  long raw = Perform(c);
  if (!IsErr(raw) &&
      !TrackMapping(static_cast<uint64_t>(raw), static_cast<uint64_t>(c.a[1]), s, c.a[5])) {
    EmitGap(
        "shared writable mapping beyond the recorder's table: stores through it are not "
        "recorded",
        s->path, s->path_len, c.uc, trace::kGapScopeFile, s->dev, s->ino);
  }
  Return(c, raw);
  return true;
}

// msync of a tracked mapping: the stores before it are captured (in
// Begin), then the call is recorded with the file range it covers.
bool Msync(Call& c) {
  MappedFile f;
  if (!FindMapping(static_cast<uint64_t>(c.a[0]), &f)) return false;
  Recorded r(c, OpKind::kMsync);
  Event& ev = r.ev();
  uint64_t len = static_cast<uint64_t>(c.a[1]);
  ev.path = f.path;
  ev.h.path_len = f.path_len;
  ev.h.dev = f.dev;
  ev.h.ino = f.ino;
  ev.h.offset = f.file_off;
  ev.h.length = len < f.len ? len : f.len;
  ev.h.oflags = static_cast<uint32_t>(c.a[2]);
  long raw = r.Begin("aftershock/io/msync") ? Perform(c) : -r.decision().err;
  Return(c, r.Finish(raw));
  return true;
}

// munmap and mremap end (part of) a tracked mapping: what was stored
// through it is captured first. A remapped mapping is not followed.
bool Unmap(Call& c) {
  CaptureMappings(c.nr, c.uc);
  // A module going away (dlclose): the stack walk must not read it again.
  if (OverlapsModules(static_cast<uint64_t>(c.a[0]), static_cast<uint64_t>(c.a[1]))) {
    g_rt.modules_dirty = true;
  }
  MappedFile f;
  bool tracked = c.nr == SYS_mremap && FindMapping(static_cast<uint64_t>(c.a[0]), &f);
  UntrackRange(static_cast<uint64_t>(c.a[0]), static_cast<uint64_t>(c.a[1]), c.uc);
  if (tracked) {
    EmitGap("mremap of a shared file mapping: stores through the new mapping are not recorded",
            f.path, f.path_len, c.uc, trace::kGapScopeFile, f.dev, f.ino);
  }
  return false;
}

// Removes SIGSYS from a signal mask the target passes to the kernel.
void StripMask(Call& c, int arg) {
  const uint64_t* set = reinterpret_cast<const uint64_t*>(c.a[arg]);
  if (set == nullptr || (*set & kSigsysBit) == 0) return;
  ThreadBuf* b = Buf();
  if (b == nullptr) return;
  uint32_t depth = aftershock_ret.depth < kRetStackDepth ? aftershock_ret.depth : 0;
  b->masks[depth][0] = *set & ~kSigsysBit;
  SetArg(c, arg, A(&b->masks[depth][0]));
}

bool SigAction(Call& c) {
  if (c.a[0] != SIGSYS && GateSigAction(c)) return true;
  if (c.a[0] != SIGSYS) {
    // A handler's sa_mask may not block SIGSYS either: its own calls trap.
    const KSigaction* act = reinterpret_cast<const KSigaction*>(c.a[1]);
    ThreadBuf* b = Buf();
    if (act != nullptr && (act->mask & kSigsysBit) != 0 && b != nullptr) {
      uint32_t depth = aftershock_ret.depth < kRetStackDepth ? aftershock_ret.depth : 0;
      static_assert(sizeof(KSigaction) == sizeof b->masks[0]);
      MemCopy(b->masks[depth], act, sizeof(KSigaction));
      reinterpret_cast<KSigaction*>(b->masks[depth])->mask &= ~kSigsysBit;
      SetArg(c, 1, A(b->masks[depth]));
    }
    return false;
  }
  // The recorder's handler stays; the target sees what it installed.
  KSigaction* old = reinterpret_cast<KSigaction*>(c.a[2]);
  const KSigaction* act = reinterpret_cast<const KSigaction*>(c.a[1]);
  KSigaction prev = g_rt.target_sigsys;
  if (act != nullptr) g_rt.target_sigsys = *act;
  if (old != nullptr) *old = prev;
  Return(c, 0);
  return true;
}

bool SigReturn(Call& c) {
  uint64_t* mask =
      reinterpret_cast<uint64_t*>(static_cast<uint64_t>(c.g[REG_RSP]) + kUcSigmaskOffset);
  *mask &= ~kSigsysBit;
  c.g[REG_RIP] = reinterpret_cast<greg_t>(AftershockTrampSigreturn);
  c.g[REG_RAX] = c.nr;
  return true;
}

// pselect6: its mask is behind a pointer in its sixth argument.
bool Pselect(Call& c) {
  const uint64_t* data = reinterpret_cast<const uint64_t*>(c.a[5]);
  if (data == nullptr || data[0] == 0) return false;
  const uint64_t* set = reinterpret_cast<const uint64_t*>(data[0]);
  if ((*set & kSigsysBit) == 0) return false;
  ThreadBuf* b = Buf();
  if (b == nullptr) return false;
  uint32_t depth = aftershock_ret.depth < kRetStackDepth ? aftershock_ret.depth : 0;
  b->masks[depth][0] = *set & ~kSigsysBit;
  b->masks[depth][1] = A(&b->masks[depth][0]);
  b->masks[depth][2] = data[1];
  SetArg(c, 5, A(&b->masks[depth][1]));
  return false;
}

bool Clone3(Call& c) {
  const struct clone_args* ca = reinterpret_cast<const struct clone_args*>(c.a[0]);
  if (ca == nullptr) return false;
  uint64_t sp = ca->stack != 0 ? ca->stack + ca->stack_size : 0;
  return Clone(c, ca->flags, sp);
}

bool RefuseIoUring(Call& c) {
  EmitGap("io_uring_setup refused (ENOSYS): it would bypass the recorder", nullptr, 0, c.uc,
          trace::kGapScopeNone);
  Return(c, -ENOSYS);
  return true;
}

// A call whose argument kArg is a signal mask: passed through without SIGSYS in it.
template <int kArg>
bool PassWithoutSigsys(Call& c) {
  StripMask(c, kArg);
  return false;
}

struct ProcessCall {
  long nr;
  bool (*handle)(Call& c);  // true iff it took care of the call
};

// The calls that change the process, its stack, its signal state or its
// mappings. The SIGSYS handler takes them; they are never rewritten
// (rewrite.cc): the one list of both.
const ProcessCall kProcessCalls[] = {
    {SYS_clone, [](Call& c) { return Clone(c, static_cast<uint64_t>(c.a[0]), static_cast<uint64_t>(c.a[1])); }},
    {SYS_clone3, Clone3},
    {SYS_fork, [](Call& c) { return Clone(c, SIGCHLD, 0); }},
    // vfork shares the parent's stack; a fork is always a valid vfork.
    {SYS_vfork,
     [](Call& c) {
       c.nr = SYS_fork;
       return Clone(c, SIGCHLD, 0);
     }},
    {SYS_execve,
     [](Call& c) { return Exec(c, AT_FDCWD, reinterpret_cast<const char*>(c.a[0]), 2); }},
    {SYS_execveat,
     [](Call& c) {
       return Exec(c, static_cast<int>(c.a[0]), reinterpret_cast<const char*>(c.a[1]), 3);
     }},
    {SYS_exit_group, ExitGroup},
    {SYS_exit,
     [](Call& c) {
       ExitHereIfSharedChild(c);
       return false;
     }},
    {SYS_mmap, Mmap},
    {SYS_msync, Msync},
    {SYS_munmap, Unmap},
    {SYS_mremap, Unmap},
    {SYS_mprotect, [](Call&) { return false; }},
    {SYS_io_uring_setup, RefuseIoUring},
    {SYS_rt_sigaction, SigAction},
    {SYS_rt_sigprocmask,
     [](Call& c) {
       if (c.a[0] != SIG_UNBLOCK) StripMask(c, 1);
       return false;
     }},
    {SYS_rt_sigsuspend, PassWithoutSigsys<0>},
    {SYS_ppoll, PassWithoutSigsys<3>},
    {SYS_epoll_pwait, PassWithoutSigsys<4>},
    {SYS_epoll_pwait2, PassWithoutSigsys<4>},
    {SYS_pselect6, Pselect},
    {SYS_rt_sigreturn, SigReturn},
    {SYS_sigaltstack, [](Call&) { return false; }},
    {SYS_prctl,
     [](Call& c) {
       if (c.a[0] != PR_SET_SYSCALL_USER_DISPATCH) return false;
       Return(c, -EPERM);  // the target may not switch the recorder off
       return true;
     }},
};

const ProcessCall* FindProcessCall(long nr) {
  for (const ProcessCall& p : kProcessCalls) {
    if (p.nr == nr) return &p;
  }
  return nullptr;
}

}  // namespace

bool HandleProcessCall(Call& c) {
  const ProcessCall* p = FindProcessCall(c.nr);
  return p != nullptr && p->handle(c);
}

bool IsProcessCall(long nr) { return nr == SYS_arch_prctl || FindProcessCall(nr) != nullptr; }

}  // namespace aftershock::inject
