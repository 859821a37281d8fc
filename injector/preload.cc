// libaftershock_inject.so's constructor: reads the run's environment, opens
// the trace, installs the SIGSYS handler and arms Syscall User Dispatch.
// It runs again in every new image after execve (dispatch does not survive
// it), and new threads and processes arm themselves on their first
// instruction (AftershockChildStart*: dispatch is not inherited by clone).
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "injector/control_env.h"
#include "injector/dispatch.h"
#include "injector/fd_table.h"
#include "injector/fiu_api.h"
#include "injector/mappings.h"
#include "injector/modules.h"
#include "injector/raw.h"
#include "injector/rewrite.h"
#include "injector/runtime.h"

extern "C" {
extern char __start_aftershock_text[] __attribute__((visibility("hidden")));
extern char __stop_aftershock_text[] __attribute__((visibility("hidden")));
void AftershockRestorer();
void AftershockSigsys(int, siginfo_t*, void*);
}

namespace aftershock::inject {

extern AFTERSHOCK_TLS uint64_t t_pending_clone_flags;
extern AFTERSHOCK_TLS uint64_t t_pending_fork_seq;
extern AFTERSHOCK_TLS int t_pending_parent;

namespace {

constexpr int kTraceFdFloor = 1000;
constexpr uint64_t kSaRestorer = 0x04000000;  // SA_RESTORER (not exported by glibc)
char g_fiu_names[kMaxRules][160];

bool InstallHandler() {
  KSigaction sa = {};
  sa.handler = reinterpret_cast<uint64_t>(&AftershockSigsys);
  sa.flags = SA_SIGINFO | kSaRestorer;
  sa.restorer = reinterpret_cast<uint64_t>(&AftershockRestorer);
  sa.mask = ~uint64_t{0};  // no target handler may run while dispatch is relaxed
  return !IsErr(Sys(SYS_rt_sigaction, SIGSYS, A(&sa), 0, 8));
}

// The free bytes of g_rt.strings, for a string about to be written there
// (NUL-terminated); `room` is how many.
char* PoolFree(size_t* room) {
  *room = sizeof g_rt.strings - g_rt.strings_used;
  return g_rt.strings + g_rt.strings_used;
}

// Keeps the string of n bytes just written at PoolFree, and its NUL.
const char* PoolKeep(size_t n) {
  const char* s = g_rt.strings + g_rt.strings_used;
  assert(s[n] == '\0' && g_rt.strings_used + n < sizeof g_rt.strings);
  g_rt.strings_used += n + 1;
  return s;
}

// Copies n bytes of v into the pool as a string: sets *out and *len, or
// leaves them unset when it does not fit.
void PoolCopy(const char* v, size_t n, const char** out, size_t* len) {
  size_t room;
  char* at = PoolFree(&room);
  if (n >= room) return;
  memcpy(at, v, n);
  at[n] = '\0';
  *out = PoolKeep(n);
  *len = n;
}

void CopyEnv(const char* name, const char** out, size_t* len) {
  const char* v = getenv(name);
  *len = 0;
  if (v != nullptr) PoolCopy(v, strlen(v), out, len);
}

// Keeps "NAME=value" of the run's variables to put back into an execve
// whose environment lost them.
void KeepEnv() {
  constexpr int kKeep = sizeof g_rt.keep_env / sizeof g_rt.keep_env[0];
  for (const char* name : kRecorderControlEnv) {
    const char* v = getenv(name);
    if (v == nullptr || g_rt.keep_env_count == kKeep) continue;
    size_t room;
    char* at = PoolFree(&room);
    int written = snprintf(at, room, "%s=%s", name, v);
    if (written < 0 || static_cast<size_t>(written) >= room) break;
    g_rt.keep_env[g_rt.keep_env_count++] = PoolKeep(static_cast<size_t>(written));
  }
}

void SetupAllow() {
  const char* v = getenv("AFTERSHOCK_ALLOW");
  if (v == nullptr) return;
  while (*v != '\0' && g_rt.allow_count < kMaxAllow) {
    const char* end = strchr(v, ':');
    size_t n = end ? static_cast<size_t>(end - v) : strlen(v);
    size_t room;
    char* at = PoolFree(&room);
    if (n > 0 && v[0] == '/' && n + 1 < room) {
      size_t len = ResolvePath("/", 1, v, n, at, room);
      if (len > 0) {
        g_rt.allow[g_rt.allow_count] = PoolKeep(len);
        g_rt.allow_len[g_rt.allow_count++] = len;
      }
    }
    v += n;
    if (*v == ':') ++v;
  }
}

int RuleCallback(const char* name, int* failnum, void** failinfo, unsigned* flags) {
  (void)failnum;
  (void)flags;
  int fired = 0;
  for (int i = 0; i < g_rt.plan.count; ++i) {
    if (strcmp(g_fiu_names[i], name) != 0) continue;
    const FaultRule& r = g_rt.plan.rules[i];
    uint64_t hits = __atomic_add_fetch(&g_rt.page->rule_hits[i], 1, __ATOMIC_SEQ_CST);
    if (!fired && (r.nth == 0 || hits == r.nth)) {
      __atomic_store_n(&g_rt.page->rule_fired[i], 1, __ATOMIC_SEQ_CST);
      *failinfo = const_cast<FaultRule*>(&r);
      fired = 1;
    }
  }
  return fired;
}

// Rules become libfiu points enabled with an external callback, so they
// share libfiu's names and its control with FIU_ENABLE and fiu-ctrl.
void SetupFaults() {
  char err[512];
  const char* spec = getenv("AFTERSHOCK_FAULTS");
  bool ok = true;
  if (spec != nullptr) ok = ParseFaultSpec(spec, strlen(spec), &g_rt.plan, err, sizeof err);
  const char* file = getenv("AFTERSHOCK_FAULTS_FILE");
  if (ok && file != nullptr) {
    FILE* f = fopen(file, "re");
    if (f == nullptr) {
      snprintf(err, sizeof err, "cannot read AFTERSHOCK_FAULTS_FILE %s: %s", file, strerror(errno));
      ok = false;
    } else {
      char buf[8192];
      size_t n = fread(buf, 1, sizeof buf, f);
      fclose(f);
      ok = ParseFaultSpec(buf, n, &g_rt.plan, err, sizeof err);
    }
  }
  if (!ok) {
    fprintf(stderr, "aftershock: %s (no faults injected)\n", err);
    EmitGap(err, nullptr, 0, nullptr, trace::kGapScopeNone);
    g_rt.plan.count = 0;
  }
  const char* fiu_cmds = getenv("FIU_ENABLE");
  const char* fiu_ctrl = getenv("AFTERSHOCK_FIU_CTRL");
  bool need_fiu = fiu_cmds != nullptr || fiu_ctrl != nullptr;
  for (int i = 0; i < g_rt.plan.count; ++i) {
    if (IsPreSeqRule(g_rt.plan.rules[i].action)) {
      g_rt.pre_seq_rules = true;
    } else if (g_rt.plan.rules[i].seq != 0) {
      g_rt.kill_by_seq = true;
    } else {
      need_fiu = true;
    }
  }
  if (!need_fiu) return;
  if (!LoadFiu()) {
    const char* msg = "libfiu (libfiu.so.0) cannot be loaded: fault points are off";
    fprintf(stderr, "aftershock: %s\n", msg);
    EmitGap(msg, nullptr, 0, nullptr, trace::kGapScopeNone);
    return;
  }
  for (int i = 0; i < g_rt.plan.count; ++i) {
    const FaultRule& r = g_rt.plan.rules[i];
    if (r.seq != 0 || IsPreSeqRule(r.action)) continue;
    snprintf(g_fiu_names[i], sizeof g_fiu_names[i], "%s%s", r.point,
             r.action == FaultAction::kShort ? "/reduce" : "");
    g_fiu.enable_external(g_fiu_names[i], 1, const_cast<FaultRule*>(&r), 0, RuleCallback);
    g_rt.fiu_active = true;
  }
  // libfiu's own control, as fiu-run offers it.
  if (const char* cmds = fiu_cmds) {
    char line[1024];
    while (*cmds != '\0') {
      const char* end = strchr(cmds, '\n');
      size_t n = end ? static_cast<size_t>(end - cmds) : strlen(cmds);
      if (n > 0 && n < sizeof line) {
        memcpy(line, cmds, n);
        line[n] = '\0';
        char* error = nullptr;
        if (g_fiu.rc_string(line, &error) != 0) {
          fprintf(stderr, "aftershock: FIU_ENABLE: %s: %s\n", line, error ? error : "error");
        }
        g_rt.fiu_active = true;
      }
      cmds += n;
      if (*cmds == '\n') ++cmds;
    }
  }
  if (fiu_ctrl != nullptr && g_fiu.rc_fifo(fiu_ctrl) == 0) g_rt.fiu_active = true;
}

// Maps the trace (trace_format.h): a window that records are copied into,
// or failing that its header alone. An older trace without a tail is
// appended to.
void MapTrace() {
  trace::FileHeader fh{};
  if (pread(g_rt.trace_fd, &fh, sizeof fh, 0) != sizeof fh || !trace::HasTail(fh)) {
    fcntl(g_rt.trace_fd, F_SETFL, O_APPEND);
    return;
  }
  void* map = mmap(nullptr, kTraceWindow, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                   g_rt.trace_fd, 0);
  if (map != MAP_FAILED) {
    g_rt.trace_window = kTraceWindow;
  } else {
    map = mmap(nullptr, sizeof fh, PROT_READ | PROT_WRITE, MAP_SHARED, g_rt.trace_fd, 0);
    if (map == MAP_FAILED) return;
  }
  g_rt.trace_header = static_cast<trace::FileHeader*>(map);
}

bool OpenTrace() {
  const char* trace = getenv("AFTERSHOCK_TRACE");
  if (trace == nullptr || trace[0] != '/') return false;
  CopyEnv("AFTERSHOCK_TRACE", &g_rt.trace_path, &g_rt.trace_path_len);
  size_t room;
  char* seq = PoolFree(&room);
  if (g_rt.trace_path_len == 0 || !SeqPathFor(g_rt.trace_path, seq, room)) return false;
  g_rt.seq_path_len = strlen(seq);
  g_rt.seq_path = PoolKeep(g_rt.seq_path_len);
  int fd = open(g_rt.trace_path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;  // the launcher creates the trace (header and .seq)
  struct rlimit rl;
  int floor = kTraceFdFloor;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < static_cast<rlim_t>(floor) + 16) {
    floor = static_cast<int>(rl.rlim_cur / 2);
  }
  int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  if (high >= 0) {
    close(fd);
    fd = high;
  }
  g_rt.trace_fd = fd;
  MapTrace();
  int sfd = open(g_rt.seq_path, O_RDWR | O_CLOEXEC);
  if (sfd < 0) return false;
  void* page = mmap(nullptr, kSharedPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
  close(sfd);
  if (page == MAP_FAILED) return false;
  g_rt.page = static_cast<SharedPage*>(page);
  return g_rt.page->magic == kSharedPageMagic;
}

// argv as glibc hands it to ELF constructors (no /proc read needed).
void EmitExec(int argc, char** argv) {
  Event ev = NewEvent(trace::OpKind::kExec, SYS_execve);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) n = 0;
  ev.path = exe;
  ev.h.path_len = static_cast<uint32_t>(n);
  char cmdline[2048];
  size_t m = 0;
  for (int i = 0; argv != nullptr && i < argc && argv[i] != nullptr; ++i) {
    size_t len = strlen(argv[i]);
    if (m + len + 1 > sizeof cmdline) break;
    if (m > 0) cmdline[m++] = ' ';
    memcpy(cmdline + m, argv[i], len);
    m += len;
  }
  ev.data = cmdline;
  ev.h.data_len = static_cast<uint32_t>(m);
  Emit(&ev, nullptr);
}

void Init(int argc, char** argv) {
  if (!OpenTrace()) {
    if (getenv("AFTERSHOCK_TRACE") != nullptr) {
      fprintf(stderr, "aftershock: cannot open the trace %s: not recording\n",
              getenv("AFTERSHOCK_TRACE"));
    }
    return;
  }
  const char* root = getenv("AFTERSHOCK_ROOT");
  if (root != nullptr && root[0] == '/') {
    char real[4096];
    if (realpath(root, real) != nullptr) root = real;
    size_t room;
    char* at = PoolFree(&room);
    size_t len = ResolvePath("/", 1, root, strlen(root), at, room);
    if (len > 0) {
      g_rt.root = PoolKeep(len);
      g_rt.root_len = len;
    }
  }
  SetupAllow();
  CopyEnv("AFTERSHOCK_UNRECORDED", &g_rt.unrecorded, &g_rt.unrecorded_len);
  CopyEnv("AFTERSHOCK_PTRACE", &g_rt.ptrace_path, &g_rt.ptrace_path_len);
  KeepEnv();
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&Init), &info) != 0 && info.dli_fname != nullptr) {
    PoolCopy(info.dli_fname, strlen(info.dli_fname), &g_rt.lib_path, &g_rt.lib_path_len);
  }
  g_rt.owner_pid = getpid();
  if (getcwd(g_rt.cwd, sizeof g_rt.cwd) != nullptr) g_rt.cwd_len = strlen(g_rt.cwd);
  void* fds = mmap(nullptr, sizeof(FdSlot) * kMaxFds, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (fds != MAP_FAILED) g_rt.fds = static_cast<FdSlot*>(fds);
  // The module map is read on the first recorded call that needs a call
  // site: most short-lived processes (shells between forks) never do.
  g_rt.modules_dirty = true;
  EmitExec(argc, argv);
  SetupFaults();
  const char* rewrite = getenv("AFTERSHOCK_REWRITE");
  g_rt.rewrite = (rewrite == nullptr || strcmp(rewrite, "0") != 0) && InitRewriting();
  if (!InstallHandler()) return;
  g_rt.armed = ArmThisThread();
}

__attribute__((constructor)) void AftershockInit(int argc, char** argv, char** envp) {
  (void)envp;
  int saved = errno;
  Init(argc, argv);
  errno = saved;
}

void ChildStart(bool thread_stack, uint64_t sp) {
  uint64_t flags = t_pending_clone_flags;
  bool known = (flags >> 63) != 0;
  // A child with a TLS block of its own (CLONE_SETTLS) sees none of the
  // parent's pending state; one that shares the parent's (vfork-like)
  // must leave the parent's TLS alone apart from the selector.
  bool own_tls = !known || (flags & CLONE_SETTLS) != 0 || (flags & CLONE_VM) == 0;
  ResetIdentity(!own_tls);
  ArmThisThread();
  if (thread_stack && own_tls) SetStackTop(sp + 8);
  if (thread_stack && !own_tls) SetSharedChildStackTop(sp + 8);
  if (!known || (flags & CLONE_THREAD) != 0) return;
  if ((flags & CLONE_VM) == 0) {
    g_rt.owner_pid = CurrentPid();
    ResetPositionLock();
    ResetMappingLock();
  }
  Event ev = NewEvent(trace::OpKind::kFork, SYS_clone);
  ev.h.seq = t_pending_fork_seq;
  ev.h.pid = t_pending_parent;
  ev.h.tid = t_pending_parent;
  ev.h.result = CurrentPid();
  ThreadBuf* b = Buf();  // the parent's, copied or shared
  Emit(&ev, nullptr, b != nullptr && b->fork_stack.count > 0 ? &b->fork_stack : nullptr);
}

}  // namespace

bool ArmThisThread() {
  aftershock_selector = SYSCALL_DISPATCH_FILTER_BLOCK;
  uint64_t start = reinterpret_cast<uint64_t>(__start_aftershock_text);
  uint64_t len = reinterpret_cast<uint64_t>(__stop_aftershock_text) - start;
  return !IsErr(Sys(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, A(start), A(len),
                    A(&aftershock_selector)));
}

}  // namespace aftershock::inject

extern "C" __attribute__((visibility("hidden"))) void AftershockChildStartFork(uint64_t sp) {
  aftershock::inject::ChildStart(false, sp);
}

extern "C" __attribute__((visibility("hidden"))) void AftershockChildStartThread(uint64_t sp) {
  aftershock::inject::ChildStart(true, sp);
}
