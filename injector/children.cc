#include "injector/children.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
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

// SpawnChild calls under way: a child that exits before its spawner has
// registered it is not yet in Ours(), so the reaper leaves every exited
// child alone while one is under way.
int& Spawning() {
  static int spawning = 0;
  return spawning;
}

bool IsOurs(pid_t pid) {
  std::lock_guard<std::mutex> lock(Mu());
  return Spawning() > 0 || Ours().count(pid) > 0;
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

namespace {

constexpr size_t kSpawnStack = 256 << 10;

// One stack per thread for the children it spawns: the thread waits while
// its child runs on it, so one is enough.
struct SpawnStack {
  void* base = MAP_FAILED;
  ~SpawnStack() {
    if (base != MAP_FAILED) ::munmap(base, kSpawnStack);
  }
  char* Top() {
    if (base == MAP_FAILED) {
      base = ::mmap(nullptr, kSpawnStack, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    }
    return base == MAP_FAILED ? nullptr : static_cast<char*>(base) + kSpawnStack;
  }
};

struct SpawnArgs {
  int (*child)(void*);
  void* arg;
  const sigset_t* mask;  // the spawner's own, restored before `child` runs
};

// In the child: default handlers (the spawner's would run in its memory),
// then the spawner's signal mask, then the caller's function.
int SpawnEntry(void* p) {
  const SpawnArgs* a = static_cast<const SpawnArgs*>(p);
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    struct sigaction old = {};
    if (::sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) ::sigaction(sig, &dfl, nullptr);
  }
  ::sigprocmask(SIG_SETMASK, a->mask, nullptr);
  a->child(a->arg);
  ::_exit(127);
}

}  // namespace

pid_t SpawnChild(int (*child)(void*), void* arg) {
  thread_local SpawnStack stack;
  char* top = kSpawnSharesMemory ? stack.Top() : nullptr;
  if (kSpawnSharesMemory && top == nullptr) return -1;
  sigset_t all, mask;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &mask);
  {
    std::lock_guard<std::mutex> lock(Mu());
    ++Spawning();
  }
  SpawnArgs args{child, arg, &mask};
  pid_t pid = -1;
  if (kSpawnSharesMemory) {
    pid = ::clone(SpawnEntry, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  } else if ((pid = ::fork()) == 0) {
    SpawnEntry(&args);
  }
  int err = errno;
  {
    std::lock_guard<std::mutex> lock(Mu());
    if (pid > 0) Ours().insert(pid);
    --Spawning();
  }
  ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  errno = err;
  return pid;
}

void AdoptChild(pid_t pid) {
  std::lock_guard<std::mutex> lock(Mu());
  Ours().insert(pid);
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
