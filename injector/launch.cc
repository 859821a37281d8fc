#include "injector/launch.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

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
  static const char* const kControl[] = {"AFTERSHOCK_TRACE",       "AFTERSHOCK_ROOT",
                                         "AFTERSHOCK_ALLOW",       "AFTERSHOCK_FAULTS",
                                         "AFTERSHOCK_FAULTS_FILE", "AFTERSHOCK_FIU_CTRL"};
  for (const char* c : kControl) {
    if (key == c) return true;
  }
  return false;
}

std::vector<std::string> BuildEnv(const LaunchOptions& o, const std::string& lib) {
  std::vector<std::pair<std::string, std::string>> set = o.env;
  if (o.record) {
    set.emplace_back("AFTERSHOCK_TRACE", o.trace);
    if (!o.root.empty()) set.emplace_back("AFTERSHOCK_ROOT", o.root);
    std::string allow;
    for (const auto& a : o.allow) allow += (allow.empty() ? "" : ":") + a;
    if (!allow.empty()) set.emplace_back("AFTERSHOCK_ALLOW", allow);
    if (!o.faults.empty()) set.emplace_back("AFTERSHOCK_FAULTS", o.faults);
    const char* old = std::getenv("LD_PRELOAD");
    set.emplace_back("LD_PRELOAD", lib + (old && *old ? std::string(":") + old : ""));
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& kv : set) replaced = replaced || kv.first == key;
    if (o.record && IsRecorderControl(key)) {
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

std::string LaunchResult::Describe() const {
  if (!started) return "not started: " + error;
  if (timed_out) return "timeout";
  if (signal != 0) return "signal " + std::to_string(signal);
  return "exit " + std::to_string(exit_status);
}

std::string InjectLibPath() {
  if (const char* env = std::getenv("AFTERSHOCK_INJECT_LIB"); env && FileExists(env)) return env;
  if (FileExists(AFTERSHOCK_INJECT_LIB_BUILD)) return AFTERSHOCK_INJECT_LIB_BUILD;
  return AFTERSHOCK_INJECT_LIB_INSTALL;
}

bool IsStaticElf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return false;
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return false;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(static_cast<std::streamoff>(eh.e_phoff + uint64_t(i) * eh.e_phentsize));
    if (!in.read(reinterpret_cast<char*>(&ph), sizeof ph)) return false;
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

LaunchResult Launch(const LaunchOptions& o) {
  LaunchResult res;
  std::string lib = o.inject_lib.empty() ? InjectLibPath() : o.inject_lib;
  if (o.record) {
    if (o.trace.empty() || o.trace[0] != '/') {
      res.error = "the trace path must be absolute";
      return res;
    }
    if (!FileExists(lib)) {
      res.error = "cannot find libaftershock_inject.so (" + lib + "); set AFTERSHOCK_INJECT_LIB";
      return res;
    }
    if (!TraceExists(o.trace) && !CreateTrace(o.trace, &res.error, o.root)) return res;
  }
  std::vector<std::string> args;
  if (!o.command.empty()) {
    args = {"/bin/sh", "-c", o.command};
  } else if (!o.argv.empty()) {
    args = o.argv;
    args[0] = ResolveInPath(args[0]);
    if (o.record && IsStaticElf(args[0])) {
      Op gap;
      gap.kind = OpKind::kGap;
      gap.path = args[0];
      gap.data = "static binary: LD_PRELOAD cannot reach it, its calls are not recorded";
      AppendRecord(o.trace, gap);
    }
  } else {
    res.error = "nothing to run";
    return res;
  }
  std::vector<std::string> env = BuildEnv(o, lib);
  std::vector<char*> argv_p, env_p;
  for (auto& a : args) argv_p.push_back(a.data());
  argv_p.push_back(nullptr);
  for (auto& e : env) env_p.push_back(e.data());
  env_p.push_back(nullptr);
  int in_fd = o.has_stdin ? MemFdWith(o.stdin_data) : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out_fd = o.capture_output ? MemFdWith("") : -1;
  if (in_fd < 0 || (o.capture_output && out_fd < 0)) {
    res.error = std::string("cannot set up stdio: ") + std::strerror(errno);
    if (in_fd >= 0) ::close(in_fd);
    if (out_fd >= 0) ::close(out_fd);
    return res;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    res.error = std::string("fork: ") + std::strerror(errno);
    ::close(in_fd);
    if (out_fd >= 0) ::close(out_fd);
    return res;
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until execve.
    ::setsid();
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    ::dup2(in_fd, 0);
    if (out_fd >= 0) {
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
    }
    ::execve(argv_p[0], argv_p.data(), env_p.data());
    ::_exit(127);
  }
  ::close(in_fd);
  res.started = true;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  int status = 0;
  for (;;) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    int wait_ms = -1;
    if (o.timeout_ms > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) {
        res.timed_out = true;
        ::killpg(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    if (pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      ::poll(&p, 1, wait_ms);
    } else {
      ::usleep(2000);
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  ::killpg(pid, SIGKILL);  // stragglers of the group (background children)
  if (!res.timed_out) {
    if (WIFEXITED(status)) {
      res.exited = true;
      res.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      res.signal = WTERMSIG(status);
    }
  }
  if (out_fd >= 0) {
    res.output = ReadAllFrom(out_fd);
    ::close(out_fd);
  }
  return res;
}

}  // namespace aftershock
