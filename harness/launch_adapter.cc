#include "harness/launch_adapter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>

#include "model/trace.h"

extern char** environ;

namespace aftershock {
namespace {

// Process groups being waited for; a fixed table so the signal thread can
// walk it without locking or allocating.
constexpr size_t kMaxGroups = 1024;
std::array<std::atomic<pid_t>, kMaxGroups> g_groups{};

size_t RegisterGroup(pid_t pgid) {
  for (size_t i = 0; i < kMaxGroups; ++i) {
    pid_t expected = 0;
    if (g_groups[i].compare_exchange_strong(expected, pgid)) return i;
  }
  return kMaxGroups;
}

void UnregisterGroup(size_t slot) {
  if (slot < kMaxGroups) g_groups[slot].store(0);
}

std::vector<std::string> BuildEnv(const LaunchRequest& r) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const auto& [k, v] : r.env) overridden |= (k == key);
    if (!overridden) env.emplace_back(kv);
  }
  for (const auto& [k, v] : r.env) env.push_back(k + "=" + v);
  return env;
}

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

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

bool TracingAvailable() { return false; }

void KillAllLaunched() {
  for (auto& g : g_groups) {
    pid_t pgid = g.load();
    if (pgid > 0) kill(-pgid, SIGKILL);
  }
}

LaunchOutcome Launch(const LaunchRequest& r) {
  LaunchOutcome out;
  std::vector<std::string> env = BuildEnv(r);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = r.command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(
      &fa, 0, r.stdin_path.empty() ? "/dev/null" : r.stdin_path.c_str(), O_RDONLY, 0);
  const char* out_path = r.output_path.empty() ? "/dev/null" : r.output_path.c_str();
  posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, r.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    out.error = std::string("posix_spawn /bin/sh: ") + strerror(rc);
    return out;
  }
  size_t slot = RegisterGroup(pid);
  int pidfd = PidfdOpen(pid);
  bool timed_out = false;
  if (pidfd >= 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(r.timeout_ms);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{pidfd, POLLIN, 0};
      int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
      if (n > 0) break;
      if (n < 0 && errno != EINTR) break;
    }
    close(pidfd);
  }
  // The leader is a zombie or still running, so its pid (= the group id)
  // cannot have been reused: killing the group hits only our processes.
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  UnregisterGroup(slot);
  if (timed_out) {
    out.end = LaunchOutcome::End::kTimedOut;
  } else if (WIFEXITED(status)) {
    out.end = LaunchOutcome::End::kExited;
    out.code = WEXITSTATUS(status);
  } else {
    out.end = LaunchOutcome::End::kSignaled;
    out.code = WTERMSIG(status);
  }
  return out;
}

bool AppendTraceMark(const std::string& trace_path, std::string_view label, std::string_view data) {
  // TODO(injector): injector/marks.h's AppendMark takes the shared counter's
  // next seq; until it lands, the next seq is one past the last record.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  uint64_t next = 1;
  {
    TraceReader reader(trace_path);
    if (reader.ok()) {
      while (auto op = reader.Next()) next = std::max(next, op->seq + 1);
    }
  }
  TraceWriter writer(trace_path);
  if (!writer.ok()) return false;
  Op op;
  op.kind = OpKind::kMark;
  op.seq = next;
  op.pid = getpid();
  op.tid = getpid();
  op.path = std::string(label);
  op.data = std::string(data);
  return writer.Append(op);
}

}  // namespace aftershock
