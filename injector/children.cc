#include "injector/children.h"

#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

namespace aftershock {
namespace {

std::mutex& Mu() {
  static std::mutex* mu = new std::mutex;  // never destroyed: the reaper outlives main
  return *mu;
}

std::set<pid_t>& Ours() {
  static std::set<pid_t>* ours = new std::set<pid_t>;
  return *ours;
}

bool IsOurs(pid_t pid) {
  std::lock_guard<std::mutex> lock(Mu());
  return Ours().count(pid) > 0;
}

// Waits for any child to exit without reaping it (WNOWAIT); reaps it if it
// is an orphan. One of ours is left to its forker, who reaps it soon.
void ReapLoop() {
  using std::chrono::milliseconds;
  for (;;) {
    siginfo_t si{};
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) != 0) {
      std::this_thread::sleep_for(milliseconds(errno == ECHILD ? 20 : 1));
      continue;
    }
    if (si.si_pid > 0 && !IsOurs(si.si_pid)) {
      ::waitpid(si.si_pid, nullptr, WNOHANG);
    } else {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
}

}  // namespace

pid_t ForkChild() {
  std::lock_guard<std::mutex> lock(Mu());
  pid_t pid = ::fork();
  if (pid > 0) Ours().insert(pid);
  return pid;
}

pid_t WaitChild(pid_t pid, int* status, int options) {
  pid_t w = ::waitpid(pid, status, options);
  if (w == pid) {
    std::lock_guard<std::mutex> lock(Mu());
    Ours().erase(pid);
  }
  return w;
}

bool StartOrphanReaper() {
  static bool started = [] {
    try {
      std::thread(ReapLoop).detach();
      return true;
    } catch (const std::system_error&) {
      return false;
    }
  }();
  return started;
}

}  // namespace aftershock
