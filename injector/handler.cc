// The SIGSYS handler: every syscall the target makes outside the recorder's
// own code arrives here (Syscall User Dispatch). Calls that mutate files are
// performed and recorded here; everything else is passed through a
// trampoline so that it runs with the target's own signal mask.
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "injector/dispatch.h"
#include "injector/fd_table.h"
#include "injector/fiu_api.h"
#include "injector/mappings.h"
#include "injector/raw.h"
#include "injector/rewrite.h"
#include "injector/runtime.h"

extern "C" {
AFTERSHOCK_TLS char aftershock_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
AFTERSHOCK_TLS AftershockRetStack aftershock_ret;
}

namespace aftershock::inject {

Runtime g_rt;

namespace {

AFTERSHOCK_TLS ThreadBuf* t_buf;

constexpr int kSysUserDispatch = 2;  // si_code of a dispatched syscall

const int kArgReg[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};

// Consults libfiu (which may take its own locks and call libc: dispatch is
// relaxed for this thread meanwhile). Returns the failinfo, or nullptr.
bool FiuFails(const char* point, void** info) {
  aftershock_selector = SYSCALL_DISPATCH_FILTER_ALLOW;
  int r = g_fiu.fail(point);
  if (r != 0) *info = g_fiu.failinfo();
  aftershock_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
  return r != 0;
}

const FaultRule* AsRule(void* info) {
  const FaultRule* r = static_cast<const FaultRule*>(info);
  if (r >= g_rt.plan.rules && r < g_rt.plan.rules + g_rt.plan.count) return r;
  return nullptr;
}

Decision Decide(uint64_t seq, const char* point, const char* reduce_point) {
  Decision d;
  if (g_rt.kill_by_seq) {
    for (int i = 0; i < g_rt.plan.count; ++i) {
      const FaultRule& r = g_rt.plan.rules[i];
      if (r.seq == seq) ApplyRule(r, &d);
    }
  }
  if (!g_rt.fiu_active) return d;
  void* info = nullptr;
  if (FiuFails(point, &info)) {
    if (const FaultRule* r = AsRule(info)) {
      ApplyRule(*r, &d);
    } else {
      // Enabled by FIU_ENABLE or fiu-ctrl: failinfo is the errno. libfiu's
      // POSIX preload would pick one at random; we never do.
      long e = reinterpret_cast<long>(info);
      d.err = (e > 0 && e < 4096) ? static_cast<int>(e) : EIO;
    }
  } else if (reduce_point != nullptr && FiuFails(reduce_point, &info)) {
    d.shorten = true;
    if (const FaultRule* r = AsRule(info)) {
      d.bytes = r->bytes;
    } else {
      d.bytes = ~uint64_t{0};  // halve (below)
    }
  }
  return d;
}

long Futex(uint32_t* word, int op, uint32_t val) {
  return Sys(SYS_futex, A(word), op, val, 0, 0, 0);
}

// Blocks this thread until the harness resumes it (shared_page.h). Other
// threads of the process go on; other processes that reach a pause wait
// for this one to be resumed first.
void PauseHere() {
  SharedPage* page = g_rt.page;
  uint32_t pid = static_cast<uint32_t>(CurrentPid());
  for (;;) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(&page->paused_pid, &expected, pid, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
      break;
    }
    Futex(&page->paused_pid, FUTEX_WAIT, expected);
  }
  // Read only now: the harness bumps it (for an earlier pause) before it
  // clears paused_pid, so this value is the one it will bump for us.
  uint32_t gen = __atomic_load_n(&page->resume_gen, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&page->pauses, 1, __ATOMIC_SEQ_CST);
  Futex(&page->paused_pid, FUTEX_WAKE, 0x7fffffff);
  while (__atomic_load_n(&page->resume_gen, __ATOMIC_SEQ_CST) == gen) {
    struct timespec poll = {1, 0};
    long r = Sys(SYS_futex, A(&page->resume_gen), FUTEX_WAIT, gen, A(&poll), 0, 0);
    uint32_t controller = __atomic_load_n(&page->controller_pid, __ATOMIC_SEQ_CST);
    if (r == -ETIMEDOUT && controller != 0 && Sys(SYS_kill, controller, 0) == -ESRCH) {
      Sys(SYS_kill, Sys(SYS_getpid), SIGKILL);
    }
  }
}

// Pause and count rules, before the call takes its sequence number, so
// that what runs while this call is paused comes before it in the order.
void BeforeSeq(const char* point) {
  if (!g_rt.pre_seq_rules || g_rt.page == nullptr) return;
  bool pause = false;
  for (int i = 0; i < g_rt.plan.count; ++i) {
    const FaultRule& r = g_rt.plan.rules[i];
    if (!IsPreSeqRule(r.action)) continue;
    if (r.seq != 0) {
      // The call about to take seq S (exact unless processes race for it).
      if (__atomic_load_n(&g_rt.page->next_seq, __ATOMIC_SEQ_CST) != r.seq) continue;
      uint64_t zero = 0;
      pause |= __atomic_compare_exchange_n(&g_rt.page->rule_fired[i], &zero, 1, false,
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      continue;
    }
    if (!PointMatches(r.point, point)) continue;
    uint64_t hits = __atomic_add_fetch(&g_rt.page->rule_hits[i], 1, __ATOMIC_SEQ_CST);
    if (r.action == FaultAction::kPause && (r.nth == 0 || hits == r.nth)) {
      __atomic_store_n(&g_rt.page->rule_fired[i], 1, __ATOMIC_SEQ_CST);
      pause = true;
    }
  }
  if (pause) PauseHere();
}

void PushReturn(uint64_t rip) {
  uint32_t depth = aftershock_ret.depth;
  if (depth >= kRetStackDepth) {
    // Entries are only orphaned by a target signal handler that longjmp'd
    // out of a passed-through call; live ones are the most recent.
    constexpr uint32_t kKeep = 16;
    for (uint32_t i = 0; i < kKeep; ++i) {
      aftershock_ret.entries[i] = aftershock_ret.entries[depth - kKeep + i];
    }
    depth = kKeep;
  }
  aftershock_ret.entries[depth] = rip;
  aftershock_ret.depth = depth + 1;
}

// A runtime that manages its own thread pointer (Go without cgo calls
// arch_prctl(ARCH_SET_FS) at start-up) takes away the TLS the recorder and
// its return-address stack live in: every later SIGSYS of this thread would
// read the runtime's memory as ours. Rather than crash the target, the
// recorder says so in a gap and stops recording this thread, then makes the
// call itself (not through a trampoline, which would pop from TLS).
void LeaveForeignThreadPointer(Call& c) {
  EmitGap(
      "arch_prctl(ARCH_SET_FS): the program replaced its thread pointer (a runtime with its "
      "own TLS, e.g. Go without cgo); its calls from here on are not recorded",
      nullptr, 0, c.uc);
  Sys(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
  UndoRewrites();
  Return(c, Sys(SYS_arch_prctl, c.a[0], c.a[1]));
}

}  // namespace

ThreadBuf* Buf() {
  if (t_buf == nullptr) {
    long r = Sys(SYS_mmap, 0, sizeof(ThreadBuf), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (IsErr(r)) return nullptr;
    t_buf = reinterpret_cast<ThreadBuf*>(r);
  }
  return t_buf;
}

// pid and tid are cached per thread. A vfork-like child that shares this
// memory (and this thread's TLS) announces itself in t_shared_child_pid and
// asks the kernel; its parent thread, which runs again only once the child
// has exec'd or exited, clears the mark the first time it looks. The mark
// is in the TLS block the two share, not global: another thread of the
// parent, running meanwhile, must neither see nor clear it (it did, and the
// child then took itself for its parent and died of SIGSEGV;
// tests/injector/progs/vfork_threads.c).
AFTERSHOCK_TLS int t_pid;
AFTERSHOCK_TLS int t_tid;
AFTERSHOCK_TLS int t_shared_child_pid;

void ReleaseThreadBuf() {
  // Only a thread with a TLS block of its own may free what it points to.
  if (t_buf == nullptr || t_shared_child_pid != 0) return;
  Sys(SYS_munmap, A(t_buf), sizeof(ThreadBuf));
  t_buf = nullptr;
}

int CurrentPid() {
  if (t_pid != 0 && t_shared_child_pid == 0) return t_pid;
  int real = static_cast<int>(Sys(SYS_getpid));
  if (t_pid == 0) t_pid = real;
  if (real == t_pid) t_shared_child_pid = 0;
  return real;
}

int CurrentTid() {
  if (t_tid != 0 && CurrentPid() == t_pid) return t_tid;
  int real = static_cast<int>(Sys(SYS_gettid));
  if (t_tid == 0) t_tid = real;
  return real;
}

void ResetIdentity(bool shares_parent_tls) {
  int pid = static_cast<int>(Sys(SYS_getpid));
  if (shares_parent_tls) {
    t_shared_child_pid = pid;
    return;
  }
  t_pid = pid;
  t_tid = static_cast<int>(Sys(SYS_gettid));
  t_shared_child_pid = 0;
}

bool InSharedChild() {
  return t_shared_child_pid != 0 && t_shared_child_pid == static_cast<int>(Sys(SYS_getpid));
}

bool OwnsCaches() { return CurrentPid() == g_rt.owner_pid; }

void SetArg(Call& c, int i, long v) {
  c.a[i] = v;
  c.g[kArgReg[i]] = v;
}

void Pass(Call& c, void (*trampoline)()) {
  PushReturn(static_cast<uint64_t>(c.g[REG_RIP]));
  c.g[REG_RIP] = reinterpret_cast<greg_t>(trampoline);
  c.g[REG_RAX] = c.nr;
}

long Perform(const Call& c) { return Sys(c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]); }

void KillSelf() {
  Sys(SYS_kill, CurrentPid(), SIGKILL);
  for (;;) Sys(SYS_pause);
}

Recorded::Recorded(Call& c, trace::OpKind kind) : c_(c), ev_(NewEvent(kind, c.nr)) {}

bool Recorded::Begin(const char* point, const char* reduce_point) {
  // Stores through shared mappings made before this call come before it.
  CaptureMappings(c_.nr, c_.uc);
  BeforeSeq(point);
  ev_.h.seq = NextSeq();
  d_ = Decide(ev_.h.seq, point, reduce_point);
  if (d_.kill_before) {
    ev_.h.flags |= trace::kFlagKilled | trace::kFlagNotPerformed | trace::kFlagInjected;
    ev_.h.result = -1;
    ev_.h.err = 0;
    Emit(&ev_, c_.uc);
    KillSelf();
  }
  if (d_.err != 0) {
    ev_.h.flags |= trace::kFlagInjected;
    return false;
  }
  if (d_.shorten) ev_.h.flags |= trace::kFlagInjected | trace::kFlagShort;
  return true;
}

long Recorded::Finish(long raw) {
  SetResult(&ev_, raw);
  if (d_.kill_after) ev_.h.flags |= trace::kFlagKilled;
  Emit(&ev_, c_.uc);
  if (d_.kill_after) KillSelf();
  return raw;
}

void RefreshCwd() {
  if (!OwnsCaches()) return;
  long n = Sys(SYS_getcwd, A(g_rt.cwd), sizeof g_rt.cwd);
  g_rt.cwd_len = IsErr(n) || n <= 0 ? 0 : static_cast<size_t>(n - 1);
}

namespace {

// "/proc/self/fd/N[/rest]" (also thread-self and the own pid) names what fd
// N names: rewrites out to that file's path. tar, for one, chmods through
// /proc/self/fd/N of an O_PATH fd.
size_t ThroughProcFd(char* out, size_t len) {
  const char* prefixes[] = {"/proc/self/fd/", "/proc/thread-self/fd/"};
  size_t start = 0;
  for (const char* p : prefixes) {
    if (StartsWith(out, len, p)) start = StrLen(p);
  }
  if (start == 0) return len;
  int fd = 0;
  size_t i = start;
  while (i < len && out[i] >= '0' && out[i] <= '9') fd = fd * 10 + (out[i++] - '0');
  if (i == start || (i < len && out[i] != '/')) return len;
  const FdSlot* s = LookupFd(fd, true);
  if (s->path_len == 0 || s->path[0] != '/') return len;
  size_t rest = len - i;
  if (s->path_len + rest + 1 > kPathCap) return len;
  ThreadBuf* b = Buf();
  if (b == nullptr) return len;
  MemCopy(b->scratch, out + i, rest);
  MemCopy(out, s->path, s->path_len);
  MemCopy(out + s->path_len, b->scratch, rest);
  out[s->path_len + rest] = '\0';
  return s->path_len + rest;
}

}  // namespace

size_t ResolveAt(int dirfd, const char* user, char* out) {
  if (user == nullptr) return 0;
  size_t len = StrLen(user);
  if (len > 0 && user[0] == '/') {
    return ThroughProcFd(out, ResolvePath("/", 1, user, len, out, kPathCap));
  }
  const char* base;
  size_t base_len;
  if (dirfd == AT_FDCWD) {
    if (OwnsCaches()) {
      base = g_rt.cwd;
      base_len = g_rt.cwd_len;
    } else {
      ThreadBuf* b = Buf();
      if (b == nullptr) return 0;
      long n = Sys(SYS_getcwd, A(b->cwd), sizeof b->cwd);
      if (IsErr(n) || n <= 0) return 0;
      base = b->cwd;
      base_len = static_cast<size_t>(n - 1);
    }
  } else {
    const FdSlot* s = LookupFd(dirfd, true);
    base = s->path;
    base_len = s->path_len;
  }
  if (base_len == 0 || base[0] != '/') return 0;
  return ThroughProcFd(out, ResolvePath(base, base_len, user, len, out, kPathCap));
}

bool IsEscape(const char* path, size_t len) {
  if (g_rt.root_len == 0) return false;
  if (PathIsUnder(path, len, g_rt.root, g_rt.root_len)) return false;
  for (int i = 0; i < g_rt.allow_count; ++i) {
    if (PathIsUnder(path, len, g_rt.allow[i], g_rt.allow_len[i])) return false;
  }
  return true;
}

}  // namespace aftershock::inject

using namespace aftershock::inject;

extern "C" __attribute__((visibility("hidden"))) void AftershockSigsys(int sig, siginfo_t* si,
                                                                       void* ctx) {
  (void)sig;
  if (si->si_code != kSysUserDispatch) return;  // a SIGSYS from elsewhere: the target's own
  ucontext_t* uc = static_cast<ucontext_t*>(ctx);
  Call c;
  c.nr = si->si_syscall;
  c.uc = uc;
  c.g = uc->uc_mcontext.gregs;
  for (int i = 0; i < 6; ++i) c.a[i] = c.g[kArgReg[i]];
  if (c.nr == SYS_arch_prctl && c.a[0] == ARCH_SET_FS) {
    // Nothing after this call may touch thread-local storage (errno either).
    LeaveForeignThreadPointer(c);
    return;
  }
  int saved_errno = errno;
  uint64_t rip = static_cast<uint64_t>(c.g[REG_RIP]);
  if (!HandleFileCall(c) && !HandleFdCall(c) && !HandleProcessCall(c)) Pass(c);
  MaybeRewrite(si->si_syscall, rip);
  errno = saved_errno;
}
