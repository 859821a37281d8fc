#include "injector/ptrace_recorder.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>

#include "injector/ptrace_session.h"

namespace aftershock::inject {
namespace {

// The filter: every call of kPtraceCalls stops in the tracer
// (SECCOMP_RET_TRACE); so do mmap of a shared writable mapping and the
// clone ioctls; everything else runs untouched, at full speed.
std::vector<sock_filter> Filter() {
  std::vector<sock_filter> f;
  auto at = [](size_t from, size_t to) { return static_cast<unsigned char>(to - from - 1); };
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  const size_t list = f.size();
  const size_t n = kPtraceCallCount;
  // Layout (jumps go forward only): [list: n] [jeq mmap] [jeq ioctl]
  // [allow] [mmap check: 5] [ioctl check: 5] [trace].
  const size_t allow = list + n + 2;
  const size_t mmap_at = allow + 1, ioctl_at = mmap_at + 5, trace_at = ioctl_at + 5;
  for (size_t i = 0; i < n; ++i) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(kPtraceCalls[i]),
                         at(f.size(), trace_at), 0));
  }
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, at(f.size(), mmap_at), 0));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, at(f.size(), ioctl_at), 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  // mmap(addr, len, prot, flags, ...): MAP_SHARED and PROT_WRITE.
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[3])));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_SHARED, 0, 2));
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[2])));
  f.push_back(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_WRITE, at(f.size(), trace_at), 0));
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  // ioctl(fd, FICLONE | FICLONERANGE | FIDEDUPERANGE, ...).
  f.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[1])));
  for (uint32_t req : {uint32_t{FICLONE}, uint32_t{FICLONERANGE}, uint32_t{FIDEDUPERANGE}}) {
    f.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, req, at(f.size(), trace_at), 0));
  }
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  assert(f.size() == trace_at);
  f.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  return f;
}

// The environment of the traced program: the caller's, without the
// preloaded recorder (its process is recorded here instead).
std::vector<std::string> TracedEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LD_PRELOAD=", 11) == 0) continue;
    env.push_back(*e);
  }
  return env;
}

// The program, in the process that was to run it (so that its pid,
// parent, session and exit status are the program's own): the filter,
// then the exec. Returns only when the exec failed.
int ExecTraced(const std::string& program, const std::vector<std::string>& argv,
               const std::vector<sock_filter>& filter) {
  std::vector<std::string> env = TracedEnvironment();
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  args.push_back(nullptr);
  envp.push_back(nullptr);
  sock_fprog prog = {static_cast<unsigned short>(filter.size()),
                     const_cast<sock_filter*>(filter.data())};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    return errno;
  }
  ::execve(program.c_str(), args.data(), envp.data());
  return errno;
}

// The exec of a new image: a kExec record with its path and command line.
void EmitExec(PtraceSession& s, const Tracee& t) {
  PtraceEvent ev;
  ev.h.kind = static_cast<uint16_t>(trace::OpKind::kExec);
  ev.h.sysno = SYS_execve;
  ev.h.fd = ev.h.fd2 = -1;
  std::string proc = "/proc/" + std::to_string(t.tgid);
  char exe[4096];
  ssize_t n = ::readlink((proc + "/exe").c_str(), exe, sizeof exe);
  ev.path.assign(exe, n > 0 ? static_cast<size_t>(n) : 0);
  std::ifstream cmdline(proc + "/cmdline");
  std::string words((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  while (!words.empty() && words.back() == '\0') words.pop_back();
  for (char& c : words) c = c == '\0' ? ' ' : c;
  ev.data = words.substr(0, 2047);
  s.ForgetModules(t.tgid);
  s.Emit(&ev, t, nullptr);
}

pid_t TgidOf(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string key;
  while (status >> key) {
    if (key == "Tgid:") {
      pid_t tgid = 0;
      status >> tgid;
      return tgid;
    }
  }
  return tid;
}

class Tracer {
 public:
  explicit Tracer(PtraceSession& s) : s_(s) {}
  // Traces `main` (attached already) and every task it starts until none
  // is left.
  void Run(pid_t main);

 private:
  void OnStop(pid_t tid, int status);
  void OnCall(Tracee& t);
  void OnCallExit(Tracee& t);
  void OnNewTask(pid_t parent, unsigned event);
  void OnGone(pid_t tid);
  void Release(pid_t tid);
  void Resume(pid_t tid, int sig = 0) { ::ptrace(PTRACE_CONT, tid, nullptr, sig); }

  PtraceSession& s_;
  std::map<pid_t, Tracee> tasks_;
  // Calls that run one at a time (Serialized; the preloaded recorder's
  // LockPosition): the holder, and the calls stopped at their seccomp stop
  // meanwhile.
  pid_t position_holder_ = 0;
  std::deque<pid_t> waiting_;
};

// The calls whose record depends on what the file system was like just
// before them, read when they stop and checked after they ran: writes at
// a file position read back afterwards, and opens that may create the file
// (whether they did). They run one at a time.
bool Serialized(const user_regs_struct& regs) {
  switch (static_cast<long>(regs.orig_rax)) {
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_copy_file_range:
    case SYS_sendfile:
    case SYS_splice:
    case SYS_creat:
    case SYS_openat2:
      return true;
    case SYS_open:
      return (regs.rsi & O_CREAT) != 0;
    case SYS_openat:
      return (regs.rdx & O_CREAT) != 0;
    default:
      return false;
  }
}

void Tracer::OnCall(Tracee& t) {
  user_regs_struct regs;
  ::ptrace(PTRACE_GETREGS, t.tid, nullptr, &regs);
  bool positioned = Serialized(regs);
  if (positioned && position_holder_ != 0 && position_holder_ != t.tid) {
    waiting_.push_back(t.tid);  // stays at its seccomp stop until Release
    return;
  }
  bool killed = false;
  bool to_exit = EnterCall(s_, t, regs, &killed);
  if (killed) return;
  if (!to_exit) {
    Resume(t.tid);
    return;
  }
  if (positioned) position_holder_ = t.tid;
  ::ptrace(PTRACE_SYSCALL, t.tid, nullptr, 0);
}

void Tracer::OnCallExit(Tracee& t) {
  user_regs_struct regs;
  ::ptrace(PTRACE_GETREGS, t.tid, nullptr, &regs);
  bool alive = !t.call.active || ExitCall(s_, t, regs);
  Release(t.tid);
  if (alive) Resume(t.tid);
}

// The holder's write is done (or its process is gone): the next waiting
// call goes on.
void Tracer::Release(pid_t tid) {
  if (position_holder_ != tid) return;
  position_holder_ = 0;
  while (position_holder_ == 0 && !waiting_.empty()) {
    pid_t next = waiting_.front();
    waiting_.pop_front();
    auto it = tasks_.find(next);
    if (it != tasks_.end()) OnCall(it->second);
  }
}

void Tracer::OnGone(pid_t tid) {
  auto gone = tasks_.find(tid);
  // A process's leader is gone: its module map and code copies go too.
  if (gone != tasks_.end() && gone->second.tgid == tid) s_.ForgetModules(tid);
  tasks_.erase(tid);
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    it = *it == tid ? waiting_.erase(it) : it + 1;
  }
  Release(tid);
}

void Tracer::Run(pid_t main) {
  tasks_[main] = Tracee{main, main, true, true, {}};
  for (;;) {
    int status = 0;
    pid_t tid = ::waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: every tracee is gone
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      OnGone(tid);
    } else if (WIFSTOPPED(status)) {
      OnStop(tid, status);
    }
  }
}

// A new process or thread: its parent stopped at the fork event. The
// kFork record of a process is written here, before either may run on.
void Tracer::OnNewTask(pid_t parent, unsigned event) {
  unsigned long msg = 0;
  ::ptrace(PTRACE_GETEVENTMSG, parent, nullptr, &msg);
  pid_t child = static_cast<pid_t>(msg);
  const Tracee& p = tasks_[parent];
  pid_t tgid = event == PTRACE_EVENT_CLONE ? TgidOf(child) : child;
  Tracee& c = tasks_[child];
  bool started = c.seen_first_stop;
  c.tid = child;
  c.tgid = tgid;
  if (tgid != p.tgid) {
    PtraceEvent ev;
    ev.h.kind = static_cast<uint16_t>(trace::OpKind::kFork);
    ev.h.sysno = SYS_clone;
    ev.h.fd = ev.h.fd2 = -1;
    ev.h.pid = p.tgid;
    ev.h.tid = p.tid;
    ev.h.result = child;
    s_.Emit(&ev, p, nullptr);
  }
  c.fork_recorded = true;
  if (started) Resume(child);  // it reached its first stop before this event
}

void Tracer::OnStop(pid_t tid, int status) {
  const int sig = WSTOPSIG(status);
  const unsigned event = static_cast<unsigned>(status) >> 16;
  auto it = tasks_.find(tid);
  if (it == tasks_.end()) {
    // A new task's first stop can come before its parent's fork event.
    Tracee& t = tasks_[tid];
    t.tid = tid;
    t.tgid = tid;
    t.seen_first_stop = true;
    t.fork_recorded = false;
    return;
  }
  Tracee& t = it->second;
  if (!t.seen_first_stop && event == PTRACE_EVENT_STOP) {  // an auto-attached task's first stop
    t.seen_first_stop = true;
    if (t.fork_recorded) Resume(tid);
    return;
  }
  if (event == PTRACE_EVENT_SECCOMP) {
    OnCall(t);
    return;
  }
  if (sig == (SIGTRAP | 0x80)) {  // the exit stop of a call EnterCall kept
    OnCallExit(t);
    return;
  }
  if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK || event == PTRACE_EVENT_CLONE) {
    OnNewTask(tid, event);
    Resume(tid);
    return;
  }
  if (event == PTRACE_EVENT_EXEC) {
    // A thread that execs takes its leader's id; its old one is gone.
    unsigned long former = 0;
    ::ptrace(PTRACE_GETEVENTMSG, tid, nullptr, &former);
    if (static_cast<pid_t>(former) != tid) tasks_.erase(static_cast<pid_t>(former));
    t.tgid = tid;
    EmitExec(s_, t);
    Resume(tid);
    return;
  }
  // A signal for the tracee is delivered as it came; a group-stop
  // (PTRACE_EVENT_STOP) goes on.
  Resume(tid, event == 0 ? sig : 0);
}

}  // namespace

namespace {

// The tracer's process: a grandchild of the program's (reparented to the
// subreaper or init, so the program never sees it as a child of its own),
// in the same process group (a command's timeout kills it too). Attaches,
// says so on `ready`, and traces until every tracee is gone.
[[noreturn]] void RunTracer(PtraceSession& session, pid_t program_pid, int ready) {
  if (::fork() != 0) ::_exit(0);
  ::prctl(PR_SET_NAME, kPtraceTracerName);
  // Hold none of the program's files (its output pipe above all).
  int keep[] = {ready, session.trace_fd()};
  for (int fd = 0; fd < 1024; ++fd) {
    if (fd != keep[0] && fd != keep[1]) ::close(fd);
  }
  if (::chdir("/") != 0) ::_exit(1);
  long options = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                 PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD |
                 PTRACE_O_EXITKILL;
  if (::ptrace(PTRACE_SEIZE, program_pid, nullptr, options) != 0) ::_exit(1);
  char ok = 1;
  if (::write(ready, &ok, 1) != 1) ::_exit(1);
  ::close(ready);
  Tracer tracer(session);
  tracer.Run(program_pid);
  ::_exit(0);
}

}  // namespace

PtraceOutcome RecordWithPtrace(const std::string& program, const std::vector<std::string>& argv,
                               const std::function<void(const std::string&)>& warn) {
  PtraceOutcome out;
  PtraceSession session;
  if (!session.Open(&out.error)) return out;
  if (!session.fault_error().empty()) warn(session.fault_error() + " (no faults injected)");
  std::vector<sock_filter> filter = Filter();
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    out.error = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);  // Yama: the tracer is no ancestor
  const pid_t self = ::getpid();
  pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    RunTracer(session, self, ready[1]);
  }
  ::close(ready[1]);
  char ok = 0;
  bool attached =
      child > 0 && ::waitpid(child, nullptr, 0) == child && ::read(ready[0], &ok, 1) == 1;
  ::close(ready[0]);
  ::prctl(PR_SET_PTRACER, 0);
  if (!attached) {
    out.error = "the tracer could not attach (ptrace)";
    return out;
  }
  if (!session.fault_error().empty()) {
    Tracee me{self, self, true, true, {}};
    session.EmitGap(me, session.fault_error() + " (no faults injected)", "", trace::kGapScopeNone,
                    nullptr);
  }
  int err = ExecTraced(program, argv, filter);
  out.error = "cannot run " + program + ": " + std::strerror(err);
  out.status = err == ENOENT ? 127 : 126;
  return out;
}

}  // namespace aftershock::inject
