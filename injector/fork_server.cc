#include "injector/fork_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "common/file_io.h"
#include "injector/children.h"
#include "injector/command_group.h"
#include "injector/fields.h"
#include "injector/fork_server_wire.h"
#include "injector/launch.h"
#include "injector/sandbox.h"

namespace aftershock {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

// How long a new server may take to reach its serving loop.
constexpr int kReadyMs = 10000;
// Servers kept per process, idle or not; past it, commands are exec'd.
constexpr size_t kMaxServers = 16;

struct Server {
  pid_t pid = -1;
  int sock = -1;  // ours; the server's end is its descriptor 3
  ~Server() {
    if (sock >= 0) ::close(sock);  // it reads the end of file and exits
    if (pid > 0) {
      int status = 0;
      WaitChild(pid, &status, 0);
    }
  }
};

struct Pool {
  std::mutex mu;
  std::multimap<std::string, std::unique_ptr<Server>> idle;
  size_t running = 0;  // idle ones and those in use
  size_t started = 0;  // servers started, for tests
  // Keys whose server did not get to serve (it exited, or hung before its
  // serving point): never tried again, so that each command is not made
  // to wait for a server that will not serve.
  std::set<std::string> refused;
};

Pool& ThePool() {
  static Pool* pool = new Pool;  // never destroyed: servers end with this process
  return *pool;
}

// Servers are told apart by program and by what the dynamic loader reads
// from the environment: the rest of it is the child's own.
std::string KeyOf(const ForkRequest& r) {
  std::string key = r.argv.front();
  if (r.deferred) {
    key += std::string("\0deferred", 9);
    for (size_t i = 1; i < r.argv.size(); ++i) {
      key += '\0' + r.argv[i];
      if (r.argv[i].empty() || r.argv[i][0] != '-') break;
    }
  }
  for (const std::string& e : r.env) {
    if (e.compare(0, 3, "LD_") == 0) key += '\0' + e;
  }
  return key;
}

struct ServerArgs {
  const char* exe;
  const char* cwd;
  char* const* argv;
  int sock, devnull;
  char* const* envp;
};

// The server's process (SpawnChild): its own session, the sandbox with the
// network kept (each child leaves it as its request says), the socket as
// descriptor 3.
int ServerChild(void* p) {
  const ServerArgs& a = *static_cast<const ServerArgs*>(p);
  ::setsid();
  if (!EnterSandbox(true)) ::_exit(125);
  if (::chdir(a.cwd) != 0) ::_exit(126);
  if (a.sock == 3) {
    ::fcntl(3, F_SETFD, 0);
  } else {
    ::dup2(a.sock, 3);
  }
  for (int fd = 0; fd < 3; ++fd) ::dup2(a.devnull, fd);
  ::execve(a.exe, a.argv, a.envp);
  ::_exit(127);
}

std::vector<std::string> ServerEnv(const ForkRequest& r) {
  std::vector<std::string> env;
  std::string preload = ForkServerLibPath();
  for (const std::string& e : r.env) {
    if (e.compare(0, 11, "LD_PRELOAD=") == 0) {
      preload += ":" + e.substr(11);
    } else if (e.compare(0, 21, "AFTERSHOCK_FORK_SERVE") != 0 &&
               e.compare(0, 12, "LD_BIND_NOW=") != 0) {
      env.push_back(e);
    }
  }
  env.push_back("LD_PRELOAD=" + preload);
  // Every symbol bound in the server, once, rather than lazily in each child.
  env.push_back("LD_BIND_NOW=1");
  env.push_back(std::string(fork_wire::kSocketEnv) + "=3");
  env.push_back(std::string(fork_wire::kSandboxEnv) + "=" + SandboxSpec());
  if (r.deferred) env.push_back(std::string(fork_wire::kDeferredEnv) + "=1");
  return env;
}

// Waits for the server's first word (0: it serves). A program that never
// gets there (it does not start through glibc's __libc_start_main) is
// killed.
bool AwaitReady(Server* s, const std::string& exe, std::string* error) {
  struct pollfd p = {s->sock, POLLIN, 0};
  int ready = -1;
  if (::poll(&p, 1, kReadyMs) == 1 && ::recv(s->sock, &ready, sizeof ready, 0) == sizeof ready &&
      ready == 0) {
    return true;
  }
  *error = "the fork server of " + exe + " did not start serving";
  ::kill(s->pid, SIGKILL);
  return false;
}

std::unique_ptr<Server> StartServer(const ForkRequest& r, std::string* error) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    *error = std::string("socketpair: ") + std::strerror(errno);
    return nullptr;
  }
  auto s = std::make_unique<Server>();
  s->sock = pair[0];
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  std::vector<std::string> env = ServerEnv(r);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  // Held before main, the program runs none of its code: its arguments
  // are its path. A deferred one runs its start-up with the first
  // request's arguments, in /proc, where it can create no file.
  std::vector<std::string> words = r.deferred ? r.argv : std::vector<std::string>{r.argv.front()};
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  ServerArgs args{r.argv.front().c_str(),
                  r.deferred ? "/proc" : "/",
                  argv.data(),
                  pair[1],
                  devnull,
                  envp.data()};
  s->pid = devnull < 0 ? -1 : SpawnChild(ServerChild, &args);
  ::close(pair[1]);
  if (devnull >= 0) ::close(devnull);
  if (s->pid < 0) {
    *error = std::string("cannot start a fork server: ") + std::strerror(errno);
    return nullptr;
  }
  if (!AwaitReady(s.get(), r.argv.front(), error)) return nullptr;
  return s;
}

// Sends the request; the child's pid, or -1 (*error) when the server failed.
pid_t Ask(Server* s, const ForkRequest& r, int go_read, std::string* error) {
  std::string body;
  fields::Put(&body, r.cwd);
  fields::Put(&body, r.network ? "1" : "0");
  fields::PutList(&body, r.argv);
  fields::PutList(&body, r.env);
  int fds[fork_wire::kFds] = {r.in_fd, r.out_fd, go_read};
  char control[CMSG_SPACE(sizeof fds)] = {};
  struct iovec iov = {body.data(), body.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  std::memcpy(CMSG_DATA(c), fds, sizeof fds);
  int answer = 0;
  if (body.size() > fork_wire::kMaxRequest || ::sendmsg(s->sock, &msg, MSG_NOSIGNAL) < 0 ||
      ::recv(s->sock, &answer, sizeof answer, 0) != sizeof answer || answer <= 0) {
    *error =
        "the fork server failed (" + std::string(std::strerror(answer < 0 ? -answer : errno)) + ")";
    return -1;
  }
  return answer;
}

// A server for the request's key: an idle one, else a new one.
std::unique_ptr<Server> Take(const std::string& key, const ForkRequest& r, std::string* error) {
  Pool& pool = ThePool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (auto it = pool.idle.find(key); it != pool.idle.end()) {
      std::unique_ptr<Server> s = std::move(it->second);
      pool.idle.erase(it);
      return s;
    }
    if (pool.refused.count(key) > 0) {
      *error = "the fork server of " + r.argv.front() + " did not serve before";
      return nullptr;
    }
    if (pool.running >= kMaxServers) {
      *error = "every fork server is in use";
      return nullptr;
    }
    ++pool.running;
    ++pool.started;
  }
  std::unique_ptr<Server> s = StartServer(r, error);
  if (!s) {
    std::lock_guard<std::mutex> lock(pool.mu);
    --pool.running;
    pool.refused.insert(key);
  }
  return s;
}

void Give(const std::string& key, std::unique_ptr<Server> s) {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  if (s) {
    pool.idle.emplace(key, std::move(s));
  } else {
    --pool.running;
  }
}

}  // namespace

bool ForkServable(const std::string& exe) {
  static std::mutex mu;
  static std::map<std::string, bool>* known = new std::map<std::string, bool>;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, fresh] = known->emplace(exe, false);
  if (fresh) {
    // Only a program that starts through glibc's __libc_start_main reaches
    // the server's loop; others are exec'd as before.
    it->second =
        IsDynamicElf(exe) && Exists(ForkServerLibPath()) &&
        ReadFileBytes(exe).find(std::string("__libc_start_main\0", 18)) != std::string::npos;
  }
  return it->second;
}

pid_t ForkFromServer(const ForkRequest& r, std::string* error) {
  if (r.argv.empty() || r.in_fd < 0 || r.out_fd < 0) {
    *error = "no program or no stdio";
    return -1;
  }
  std::string key = KeyOf(r);
  std::unique_ptr<Server> s = Take(key, r, error);
  if (!s) return -1;
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    Give(key, std::move(s));
    return -1;
  }
  pid_t pid = Ask(s.get(), r, go[0], error);
  ::close(go[0]);
  if (pid < 0) s.reset();  // gone or broken: the next request starts another
  Give(key, std::move(s));
  if (pid > 0) {
    AdoptChild(pid);  // before it may exit: it waits for the word below
    if ((r.group != nullptr && !r.group->Join(pid)) || ::write(go[1], "g", 1) != 1) {
      ::close(go[1]);  // it reads the end of file and exits 125
      int status = 0;
      WaitChild(pid, &status, 0);
      *error = "cannot let the forked child go";
      return -1;
    }
  }
  ::close(go[1]);
  return pid;
}

void StopForkServers() {
  Pool& pool = ThePool();
  std::multimap<std::string, std::unique_ptr<Server>> idle;
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    idle.swap(pool.idle);
    pool.running -= idle.size();
  }
  idle.clear();  // closes and reaps each
}

std::vector<pid_t> ForkServerPids() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  std::vector<pid_t> pids;
  for (const auto& [key, s] : pool.idle) pids.push_back(s->pid);
  return pids;
}

size_t ForkServersStarted() {
  Pool& pool = ThePool();
  std::lock_guard<std::mutex> lock(pool.mu);
  return pool.started;
}

std::string ForkServerLibPath() {
  if (const char* env = std::getenv("AFTERSHOCK_FORKSERVER_LIB"); env && Exists(env)) {
    return env;
  }
  if (Exists(AFTERSHOCK_FORKSERVER_LIB_BUILD)) return AFTERSHOCK_FORKSERVER_LIB_BUILD;
  return AFTERSHOCK_FORKSERVER_LIB_INSTALL;
}

}  // namespace aftershock
