#include "harness/target/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include "injector/children.h"
#include "injector/launch.h"
#include "injector/sandbox.h"

namespace aftershock {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MsLeft(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

// Writes all of `bytes` to the non-blocking `fd` before `deadline`.
// SIGPIPE is blocked meanwhile (a dead daemon gives EPIPE, not a dead
// harness) and a pending one is consumed, so children forked later inherit
// neither a blocked mask nor a pending signal.
Status WriteBefore(int fd, const std::string& bytes, Clock::time_point deadline) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  size_t done = 0;
  Status status;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      int64_t left = MsLeft(deadline);
      struct pollfd p = {fd, POLLOUT, 0};
      if (left > 0 && poll(&p, 1, static_cast<int>(left)) >= 0) continue;
      status = Status::Error("the daemon did not read its request within the timeout");
    } else {
      status = Status::Error(std::string("cannot write the request: ") + std::strerror(errno));
    }
    break;
  }
  struct timespec zero = {0, 0};
  while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  return status;
}

std::string StatusOf(int status) {
  if (WIFEXITED(status)) return std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "?";
}

}  // namespace

Daemon::~Daemon() {
  if (running()) Kill("signal 9");
}

Status Daemon::Start(const LaunchRequest& r) {
  if (!r.trace_path.empty() && !TracingAvailable()) {
    return Status::Error("cannot find libaftershock_inject.so (" + InjectLibPath() + ")");
  }
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    return Status::Error(std::string("pipe: ") + std::strerror(errno));
  }
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    Status failed = Status::Error(std::string("pipe: ") + std::strerror(errno));
    close(in_pipe[0]);
    close(in_pipe[1]);
    return failed;
  }
  // A memfd, not a file: the recorder does not record writes to it, and
  // the log outside the root gets the daemon's stderr once it ended.
  int err_fd = static_cast<int>(syscall(SYS_memfd_create, "aftershock-serve", MFD_CLOEXEC));
  std::vector<std::string> env = LaunchEnvironment(r);
  std::vector<std::string> args = {"/bin/sh", "-c", r.command};
  std::vector<char*> argv_p, env_p;
  for (auto& a : args) argv_p.push_back(a.data());
  argv_p.push_back(nullptr);
  for (auto& e : env) env_p.push_back(e.data());
  env_p.push_back(nullptr);
  pid_t pid = ForkChild();
  if (pid < 0) {
    Status failed = Status::Error(std::string("fork: ") + std::strerror(errno));
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_fd}) {
      if (fd >= 0) close(fd);
    }
    return failed;
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only until execve.
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (!EnterSandbox(r.network)) _exit(125);
    if (!r.cwd.empty() && chdir(r.cwd.c_str()) != 0) _exit(126);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(err_fd >= 0 ? err_fd : null_fd, 2);
    execve(argv_p[0], argv_p.data(), env_p.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  pid_ = pid;
  in_fd_ = in_pipe[1];
  out_fd_ = out_pipe[0];
  err_fd_ = err_fd;
  fcntl(in_fd_, F_SETFL, fcntl(in_fd_, F_GETFL) | O_NONBLOCK);
  output_path_ = r.output_path;
  pending_.clear();
  exit_status_.clear();
  return Status::Ok();
}

DaemonAnswer Daemon::Enqueue(const std::string& id, const std::vector<std::string>& rcpts,
                             const std::string& message, int64_t timeout_ms) {
  DaemonAnswer answer;
  auto fail = [&](const std::string& what) {
    Kill("");
    answer.kind = DaemonAnswer::Kind::kProtocolError;
    answer.detail = what;
    return answer;
  };
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string request = "enqueue " + id;
  for (const auto& r : rcpts) request += " " + r;
  request += " " + std::to_string(message.size()) + "\n" + message;
  if (Status st = WriteBefore(in_fd_, request, deadline); !st.ok()) return fail(st.message());
  std::string line;
  for (;;) {
    size_t nl = pending_.find('\n');
    if (nl != std::string::npos) {
      line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      break;
    }
    int64_t left = MsLeft(deadline);
    if (left <= 0) return fail("no answer within " + std::to_string(timeout_ms / 1000) + " s");
    struct pollfd p = {out_fd_, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the wait
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("the daemon closed its stdout (or exited) with a request outstanding");
    pending_.append(buf, static_cast<size_t>(n));
  }
  if (line == "ok " + id) {
    answer.kind = DaemonAnswer::Kind::kOk;
    return answer;
  }
  std::string err_prefix = "err " + id + " ";
  if (line.compare(0, err_prefix.size(), err_prefix) == 0 || line == "err " + id) {
    answer.kind = DaemonAnswer::Kind::kErr;
    answer.detail = line.size() > err_prefix.size() ? line.substr(err_prefix.size()) : "";
    return answer;
  }
  return fail("unexpected answer '" + line + "' to the request for " + id);
}

bool Daemon::Reap(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  bool reaped = false;
  for (;;) {
    int status = 0;
    pid_t w = WaitChild(pid_, &status, WNOHANG);
    if (w == pid_) {
      exit_status_ = StatusOf(status);
      reaped = true;
      break;
    }
    int64_t left = MsLeft(deadline);
    if (left <= 0) break;
    if (pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left));
    } else {
      usleep(2000);
    }
  }
  if (pidfd >= 0) close(pidfd);
  return reaped;
}

void Daemon::Finish(const std::string& status) {
  if (!status.empty()) exit_status_ = status;
  for (int* fd : {&in_fd_, &out_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (err_fd_ >= 0) {
    if (!output_path_.empty()) {
      std::ofstream log(output_path_, std::ios::binary | std::ios::app);
      lseek(err_fd_, 0, SEEK_SET);
      char buf[65536];
      ssize_t n;
      while ((n = read(err_fd_, buf, sizeof buf)) > 0) log.write(buf, n);
    }
    close(err_fd_);
    err_fd_ = -1;
  }
  pid_ = -1;
}

void Daemon::Kill(const std::string& status) {
  // An exit that already happened is how it ended; else the kill is.
  bool exited = Reap(0);
  killpg(pid_, SIGKILL);
  if (!exited) {
    int raw = 0;
    WaitChild(pid_, &raw, 0);
    exit_status_ = StatusOf(raw);
  }
  Finish(exited ? "" : status);
}

std::string Daemon::Stop(int64_t timeout_ms) {
  if (!running()) return exit_status_;
  close(in_fd_);
  in_fd_ = -1;
  if (Reap(static_cast<int>(timeout_ms))) {
    killpg(pid_, SIGKILL);  // stragglers of its group, as the launcher does
    Finish("");
  } else {
    Kill("timeout");
  }
  return exit_status_;
}

}  // namespace aftershock
