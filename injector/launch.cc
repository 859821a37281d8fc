#include "injector/launch.h"
#include "injector/ptrace_recorder.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/file_io.h"
#include "injector/children.h"
#include "injector/command_group.h"
#include "injector/control_env.h"
#include "injector/fork_server.h"
#include "injector/sandbox.h"
#include "injector/shared_page.h"
#include "injector/trace_file.h"

extern char** environ;

namespace aftershock {
namespace {

bool FileExists(const std::string& p) {
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0;
}

std::string ResolveInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string all = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= all.size()) {
    size_t end = all.find(':', start);
    if (end == std::string::npos) end = all.size();
    std::string cand = all.substr(start, end - start) + "/" + name;
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return name;
}

// The recorder's own control variables. The contract's variables
// (AFTERSHOCK_NOW, _ID, _RCPTS, _SINK, _MANIFEST_DIR, ...) pass through.
bool IsRecorderControl(const std::string& key) {
  for (const char* c : inject::kRecorderControlEnv) {
    if (key == c) return true;
  }
  return false;
}

std::vector<std::string> BuildEnv(const LaunchRequest& o, const std::string& lib) {
  std::vector<std::pair<std::string, std::string>> set;
  for (const auto& [k, v] : o.env) {
    // The launcher sets these itself when it records.
    if (o.traced() && (k == "AFTERSHOCK_TRACE" || k == "AFTERSHOCK_ROOT")) continue;
    set.emplace_back(k, v);
  }
  if (o.traced()) {
    set.emplace_back("AFTERSHOCK_TRACE", o.trace_path);
    if (!o.root.empty()) set.emplace_back("AFTERSHOCK_ROOT", o.root);
    // Path lists: one variable each, ':'-separated; none when empty.
    for (const auto& [name, paths] : {std::pair{"AFTERSHOCK_ALLOW", &o.allow},
                                      std::pair{"AFTERSHOCK_UNRECORDED", &o.unrecorded}}) {
      std::string joined;
      for (const auto& p : *paths) joined += (joined.empty() ? "" : ":") + p;
      if (!joined.empty()) set.emplace_back(name, joined);
    }
    if (!o.faults.empty()) set.emplace_back("AFTERSHOCK_FAULTS", o.faults);
    if (std::string ptrace = PtraceRecorderPath(); FileExists(ptrace)) {
      set.emplace_back("AFTERSHOCK_PTRACE", ptrace);
    }
    const char* old = std::getenv("LD_PRELOAD");
    set.emplace_back("LD_PRELOAD", lib + (old && *old ? std::string(":") + old : ""));
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& kv : set) replaced = replaced || kv.first == key;
    if (o.traced() && IsRecorderControl(key)) {
      replaced = true;  // a stale run's recorder settings must not leak into this one
    }
    if (!replaced) env.push_back(entry);
  }
  for (const auto& kv : set) env.push_back(kv.first + "=" + kv.second);
  return env;
}

int MemFdWith(const std::string& data) {
  int fd = static_cast<int>(::syscall(SYS_memfd_create, "aftershock-io", MFD_CLOEXEC));
  if (fd < 0) return -1;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = ::write(fd, data.data() + off, data.size() - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ReadAllFrom(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

namespace {

// The executable `name` resolves to along `path` (a PATH value), "" if none.
std::string FindExecutable(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Untraced, a plain command (SplitPlainCommand) whose program is on the
// PATH the command gets: its argv, else empty (run through /bin/sh -c).
// Recovery runs for every crash state, so the saved exec adds up; what is
// recorded always goes through /bin/sh -c, as the contract says.
std::vector<std::string> DirectArgv(const LaunchRequest& r) {
  if (r.traced() || r.command.empty()) return {};
  std::string path;
  for (const auto& [k, v] : r.env) {
    if (k == "PATH") path = v;
  }
  std::vector<std::string> words;
  if (path.empty() || !SplitPlainCommand(r.command, &words)) return {};
  std::string exe = FindExecutable(words.front(), path);
  if (exe.empty()) return {};
  words.front() = exe;
  return words;
}

// The parent pid in /proc/PID/stat (the field after the parenthesized name);
// *state gets the state before it ('Z' for a zombie).
pid_t ParentOf(const char* pid, char* state = nullptr) {
  char path[64], buf[512];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* close = std::strrchr(buf, ')');
  int ppid = -1;
  char st = '?';
  if (!close || std::sscanf(close + 1, " %c %d", &st, &ppid) != 2) return -1;
  if (state != nullptr) *state = st;
  return ppid;
}

}  // namespace

std::string LaunchOutcome::Status() const {
  switch (end) {
    case End::kExited:
      return std::to_string(code);
    case End::kSignaled:
      return "signal " + std::to_string(code);
    case End::kTimedOut:
      return "timeout";
    case End::kNotStarted:
      return "not-started";
  }
  return "?";
}

std::string LaunchOutcome::Describe() const {
  switch (end) {
    case End::kExited:
      return "exit " + std::to_string(code) + (limit.empty() ? "" : " (ran into " + limit + ")");
    case End::kNotStarted:
      return "not started: " + error;
    default:
      return Status() + (limit.empty() ? "" : " (ran into " + limit + ")");
  }
}

bool SplitPlainCommand(const std::string& command, std::vector<std::string>* words) {
  words->clear();
  std::string word;
  bool in_word = false, quoted = false;
  for (char c : command) {
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) words->push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      quoted = true;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-,:=@+%", c)) {
      word += c;
    } else {
      return false;
    }
  }
  if (quoted) return false;
  if (in_word) words->push_back(word);
  return !words->empty() && words->front().find('=') == std::string::npos;
}

std::vector<std::string> LaunchEnvironment(const LaunchRequest& request) {
  return BuildEnv(request, request.inject_lib.empty() ? InjectLibPath() : request.inject_lib);
}

bool TracingAvailable() {
  static const bool available = access(InjectLibPath().c_str(), R_OK) == 0;
  return available;
}

namespace {

struct Child {
  pid_t pid;
  bool zombie;  // ended already (killed with its command's group)
};

// The processes whose parent is this one (from /proc).
std::vector<Child> ChildrenOfThisProcess() {
  const pid_t self = getpid();
  std::vector<Child> children;
  DIR* d = opendir("/proc");
  if (!d) return children;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char state = '?';
    if (ParentOf(e->d_name, &state) == self)
      children.push_back({std::atoi(e->d_name), state == 'Z'});
  }
  closedir(d);
  return children;
}

}  // namespace

void KillAllLaunched() {
  // Launch() starts every command in its own session, so each child of
  // this process leads a process group that holds all its descendants.
  for (const Child& c : ChildrenOfThisProcess()) killpg(c.pid, SIGKILL);
}

bool AwaitPtraceTracers(int timeout_ms) {
  for (int waited = 0;; waited += 10) {
    bool any = false;
    for (const Child& c : ChildrenOfThisProcess()) {
      std::ifstream comm("/proc/" + std::to_string(c.pid) + "/comm");
      std::string name;
      any |= !c.zombie && std::getline(comm, name) && name == inject::kPtraceTracerName;
    }
    if (!any) return true;
    if (waited >= timeout_ms) return false;
    ::usleep(10 * 1000);
  }
}

void AdoptLeftovers() {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  StartOrphanReaper();
}

int KillLeftovers() {
  StopForkServers();  // not left behind by a command
  int killed = 0;
  // Killing one re-parents its own children to us: rounds until none is left.
  for (int round = 0; round < 1000; ++round) {
    std::vector<Child> children = ChildrenOfThisProcess();
    if (children.empty()) break;
    for (const Child& c : children) {
      ::kill(c.pid, SIGKILL);
      int status = 0;
      ::waitpid(c.pid, &status, 0);
      killed += !c.zombie;  // a zombie was killed already (its command's group)
    }
  }
  return killed;
}

std::string InjectLibPath() {
  if (const char* env = std::getenv("AFTERSHOCK_INJECT_LIB"); env && FileExists(env)) return env;
  if (FileExists(AFTERSHOCK_INJECT_LIB_BUILD)) return AFTERSHOCK_INJECT_LIB_BUILD;
  return AFTERSHOCK_INJECT_LIB_INSTALL;
}

std::string PtraceRecorderPath() {
  // Set, it is the answer: a path that does not exist means there is none.
  if (const char* env = std::getenv("AFTERSHOCK_PTRACE")) return env;
  if (FileExists(AFTERSHOCK_PTRACE_BUILD)) return AFTERSHOCK_PTRACE_BUILD;
  return AFTERSHOCK_PTRACE_INSTALL;
}

namespace {

// -1: not an ELF executable (or unreadable); 0: static; 1: dynamic (PT_INTERP).
int ElfLinkage(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh)) return -1;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return -1;
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return -1;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + uint64_t(i) * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return -1;
    if (ph.p_type == PT_INTERP) return 1;
  }
  return 0;
}

}  // namespace

bool IsStaticElf(const std::string& path) { return ElfLinkage(path) == 0; }

bool IsDynamicElf(const std::string& path) { return ElfLinkage(path) == 1; }

namespace {

// True iff the spec holds a pause rule (rules start a line or follow ';').
bool HasPauseRule(const std::string& spec) {
  size_t i = 0;
  while (i < spec.size()) {
    size_t end = spec.find_first_of(";\n", i);
    if (end == std::string::npos) end = spec.size();
    size_t start = spec.find_first_not_of(" \t", i);
    if (start < end && spec.compare(start, 6, "pause ") == 0) return true;
    i = end + 1;
  }
  return false;
}

}  // namespace

static std::string FileSizeLimit() {
  return "the file size limit of " + std::to_string(SandboxLimits().file_size_mib) + " MiB";
}

namespace {

// What execve gets: the plain command's own argv, /bin/sh -c COMMAND, or the
// request's argv (a static program is run by the ptrace recorder, or noted
// in the trace as a gap when there is none). Empty when there is nothing to run.
// *direct: the plain command's own argv (DirectArgv).
std::vector<std::string> ProgramArgs(const LaunchRequest& o, bool* direct) {
  std::vector<std::string> args = DirectArgv(o);
  *direct = !args.empty();
  if (*direct) return args;  // found along the command's PATH already
  if (!o.command.empty()) return {"/bin/sh", "-c", o.command};
  if (o.argv.empty()) return {};
  args = o.argv;
  args[0] = ResolveInPath(args[0]);
  bool unrecorded =
      std::find(o.unrecorded.begin(), o.unrecorded.end(), args[0]) != o.unrecorded.end();
  if (!o.traced() || unrecorded || !IsStaticElf(args[0])) return args;
  if (std::string ptrace = PtraceRecorderPath(); FileExists(ptrace)) {
    // Recorded by the ptrace recorder instead (ptrace_recorder.h).
    args.insert(args.begin(), {ptrace, args[0]});
    args[2] = o.argv[0];
  } else {
    Op gap;
    gap.kind = OpKind::kGap;
    gap.path = args[0];
    gap.data = "static binary: LD_PRELOAD cannot reach it, its calls are not recorded";
    AppendRecord(o.trace_path, gap);
  }
  return args;
}

// True iff the request may be forked from a fork server: untraced, its
// output captured, its program exec'd directly (DirectArgv) and servable.
bool ServedByForkServer(const LaunchRequest& o, const std::vector<std::string>& args,
                        bool direct) {
  return o.fork_server && !o.traced() && o.capture_output && direct &&
         ForkServable(args.front());
}

// What the child needs: it runs in the launcher's memory (SpawnChild), so
// it only reads these.
struct ExecArgs {
  const LaunchRequest* o;
  const CommandGroup* group;
  int in_fd, out_fd;
  char* const* argv;
  char* const* envp;
};

// The child: into its group, session and sandbox, then execve. Only
// async-signal-safe calls, and no write to memory but its own stack.
int ExecChild(void* p) {
  const ExecArgs& a = *static_cast<const ExecArgs*>(p);
  ::setsid();
  if (a.group != nullptr) a.group->JoinFromChild();
  if (!EnterSandbox(a.o->network)) {
    static const char kMsg[] = "aftershock: cannot enter the sandbox (docs/injector.md)\n";
    (void)!::write(a.out_fd >= 0 ? a.out_fd : 2, kMsg, sizeof kMsg - 1);
    ::_exit(125);
  }
  if (!a.o->cwd.empty() && ::chdir(a.o->cwd.c_str()) != 0) ::_exit(126);
  ::dup2(a.in_fd, 0);
  if (a.out_fd >= 0) {
    ::dup2(a.out_fd, 1);
    ::dup2(a.out_fd, 2);
  }
  ::execve(a.argv[0], a.argv, a.envp);
  ::_exit(127);
}

}  // namespace

bool RunningCommand::OpenTrace(const LaunchRequest& o, const std::string& lib) {
  if (o.trace_path[0] != '/') {
    result_.error = "the trace path must be absolute";
    return false;
  }
  if (!FileExists(lib)) {
    result_.error = "cannot find libaftershock_inject.so (" + lib + "); set AFTERSHOCK_INJECT_LIB";
    return false;
  }
  if (!TraceExists(o.trace_path) && !CreateTrace(o.trace_path, &result_.error, o.root))
    return false;
  int sfd = ::open((o.trace_path + ".seq").c_str(), O_RDWR | O_CLOEXEC);
  if (sfd >= 0) {
    void* map =
        ::mmap(nullptr, inject::kSharedPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
    ::close(sfd);
    if (map != MAP_FAILED) page_ = map;
  }
  if (page_ != nullptr && may_pause_) {
    __atomic_store_n(&static_cast<inject::SharedPage*>(page_)->controller_pid,
                     static_cast<uint32_t>(::getpid()), __ATOMIC_SEQ_CST);
  }
  return true;
}

RunningCommand::RunningCommand(const LaunchRequest& o)
    : output_path_(o.output_path), may_pause_(o.traced() && HasPauseRule(o.faults)) {
  for (const auto& [key, value] : o.env) {
    // Rules from a file may pause too (unread here): resume them.
    if (key == "AFTERSHOCK_FAULTS_FILE") may_pause_ = o.traced();
  }
  std::string lib = o.inject_lib.empty() ? InjectLibPath() : o.inject_lib;
  if (o.traced() && !OpenTrace(o, lib)) return;
  bool direct = false;
  std::vector<std::string> args = ProgramArgs(o, &direct);
  if (args.empty()) {
    result_.error = "nothing to run";
    return;
  }
  std::vector<std::string> env = BuildEnv(o, lib);
  std::vector<char*> argv_p, env_p;
  for (auto& a : args) argv_p.push_back(a.data());
  argv_p.push_back(nullptr);
  for (auto& e : env) env_p.push_back(e.data());
  env_p.push_back(nullptr);
  int in_fd = o.has_stdin             ? MemFdWith(o.stdin_data)
              : !o.stdin_path.empty() ? MemFdWith(ReadFileBytes(o.stdin_path))
                                      : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = o.capture_output ? MemFdWith("") : -1;
  if (in_fd < 0 || (o.capture_output && out_fd < 0)) {
    result_.error = std::string("cannot set up stdio: ") + std::strerror(errno);
    if (in_fd >= 0) ::close(in_fd);
    if (out_fd >= 0) ::close(out_fd);
    return;
  }
  if (SandboxActive()) group_ = std::make_unique<CommandGroup>(SandboxLimits().processes);
  ExecArgs exec_args{&o, group_.get(), in_fd, out_fd, argv_p.data(), env_p.data()};
  pid_t pid = -1;
  if (ServedByForkServer(o, args, direct)) {
    std::string why;  // unused: a server that cannot serve means an exec
    ForkRequest fr{args, env, o.cwd, o.network, o.fork_server_deferred, in_fd, out_fd, group_.get()};
    pid = ForkFromServer(fr, &why);
    result_.forked = pid > 0;
  }
  if (pid < 0) pid = SpawnChild(ExecChild, &exec_args);
  ::close(in_fd);
  if (pid < 0) {
    result_.error = std::string("cannot start the command (clone): ") + std::strerror(errno);
    if (out_fd >= 0) ::close(out_fd);
    return;
  }
  if (group_) group_->AfterFork();
  started_ = true;
  pid_ = pid;
  out_fd_ = out_fd;
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (o.timeout_ms > 0) deadline_ms_ = NowMs() + o.timeout_ms;
}

RunningCommand::~RunningCommand() {
  if (started_ && !done_) {
    bool paused = PausedPid() != 0;
    ::killpg(pid_, SIGKILL);
    if (paused) Resume();  // others sharing the page may wait to pause
    WaitChild(pid_, &status_, 0);
    done_ = true;
    Finish();
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (page_ != nullptr) ::munmap(page_, inject::kSharedPageSize);
}

bool RunningCommand::Reap(int wait_ms) {
  if (done_) return true;
  pid_t w = WaitChild(pid_, &status_, WNOHANG);
  if (w == pid_) {
    done_ = true;
    return true;
  }
  if (deadline_ms_ != 0 && paused_at_ms_ == 0) {
    int64_t left = deadline_ms_ - NowMs();
    if (left <= 0) {
      timed_out_ = true;
      ::killpg(pid_, SIGKILL);
      WaitChild(pid_, &status_, 0);
      done_ = true;
      return true;
    }
    if (wait_ms < 0 || left < wait_ms) wait_ms = static_cast<int>(left);
  }
  if (pidfd_ >= 0) {
    struct pollfd p = {pidfd_, POLLIN, 0};
    ::poll(&p, 1, wait_ms);
  } else {
    ::usleep(2000);
  }
  return false;
}

void RunningCommand::Finish() {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  ::killpg(pid_, SIGKILL);  // stragglers of the group (background children)
  if (group_) {
    group_->KillAll();  // and those that left it (setsid)
    if (group_->HitLimit()) {
      result_.limit = "the limit of " + std::to_string(SandboxLimits().processes) + " processes";
    }
  }
  if (timed_out_) {
    result_.end = LaunchOutcome::End::kTimedOut;
  } else if (WIFEXITED(status_)) {
    result_.end = LaunchOutcome::End::kExited;
    result_.code = WEXITSTATUS(status_);
    // A shell reports a child's SIGXFSZ as 128 + SIGXFSZ.
    if (result_.code == 128 + SIGXFSZ && SandboxActive()) result_.limit = FileSizeLimit();
  } else if (WIFSIGNALED(status_)) {
    result_.end = LaunchOutcome::End::kSignaled;
    result_.code = WTERMSIG(status_);
    if (result_.code == SIGXFSZ && SandboxActive()) result_.limit = FileSizeLimit();
  }
  if (out_fd_ >= 0) {
    result_.output = ReadAllFrom(out_fd_);
    ::close(out_fd_);
    out_fd_ = -1;
    if (!output_path_.empty() && !result_.output.empty()) {
      std::ofstream(output_path_, std::ios::binary | std::ios::app) << result_.output;
    }
  }
}

int RunningCommand::PausedPid() const {
  auto* page = static_cast<inject::SharedPage*>(page_);
  if (page == nullptr) return 0;
  // Other commands may share the trace (and its page), such as one run
  // beside this one: a pause is ours iff only our rules can pause. (Not the
  // process group: a child that called setsid must still be resumed.)
  if (!may_pause_) return 0;
  return static_cast<int>(__atomic_load_n(&page->paused_pid, __ATOMIC_SEQ_CST));
}

int RunningCommand::WaitPausedOrEnded() {
  if (!started_ || done_) return 0;
  auto* page = static_cast<inject::SharedPage*>(page_);
  for (;;) {
    if (int pid = PausedPid(); pid != 0) {
      paused_at_ms_ = NowMs();
      return pid;
    }
    // A pause shows within the poll interval; an exit at once.
    if (Reap(page != nullptr ? 2 : -1)) {
      Finish();
      return 0;
    }
  }
}

void RunningCommand::Resume() {
  auto* page = static_cast<inject::SharedPage*>(page_);
  if (page == nullptr) return;
  if (paused_at_ms_ != 0 && deadline_ms_ != 0) deadline_ms_ += NowMs() - paused_at_ms_;
  paused_at_ms_ = 0;
  // resume_gen first, then paused_pid: a process that takes the next pause
  // reads resume_gen after it set paused_pid (shared_page.h).
  __atomic_add_fetch(&page->resume_gen, 1, __ATOMIC_SEQ_CST);
  __atomic_store_n(&page->paused_pid, 0, __ATOMIC_SEQ_CST);
  ::syscall(SYS_futex, &page->resume_gen, FUTEX_WAKE, 0x7fffffff, nullptr, nullptr, 0);
  ::syscall(SYS_futex, &page->paused_pid, FUTEX_WAKE, 0x7fffffff, nullptr, nullptr, 0);
}

LaunchOutcome RunningCommand::Wait() {
  if (!started_ || done_) return result_;
  auto* page = static_cast<inject::SharedPage*>(page_);
  for (;;) {
    if (PausedPid() != 0) Resume();
    if (Reap(page != nullptr ? 5 : -1)) break;
  }
  Finish();
  return result_;
}

uint64_t RunningCommand::RuleHits(int i) const {
  if (page_ == nullptr || i < 0 || i >= inject::kMaxRules) return 0;
  return __atomic_load_n(&static_cast<inject::SharedPage*>(page_)->rule_hits[i], __ATOMIC_SEQ_CST);
}

LaunchOutcome Launch(const LaunchRequest& o) {
  RunningCommand command(o);
  return command.Wait();
}

}  // namespace aftershock
