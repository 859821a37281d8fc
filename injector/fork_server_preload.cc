// libaftershock_forkserver.so: the fork server's side (fork_server.h).
//
// Preloaded into a target program that the launcher starts once per
// worker. The dynamic loader has loaded and relocated every library and run
// their constructors; then the program's _start calls __libc_start_main,
// which this library interposes. With $AFTERSHOCK_FORK_SERVER set, it never
// gets to the program's own constructors or main: it serves requests on
// that descriptor. For each, it clones a child with CLONE_PARENT (so the
// child is the launcher's, which waits for it and reaps it as any command)
// and answers with its pid. The child waits for the launcher's word (it is
// registered and in its control group by then), enters the session and the
// sandbox, takes the request's directory, stdio, arguments and environment,
// and goes on into glibc's __libc_start_main: the program's constructors,
// then main, as after an exec.
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "injector/fields.h"
#include "injector/fork_server_wire.h"
#include "injector/sandbox.h"

extern char** environ;

namespace aftershock {
namespace {

using StartMain = int (*)(int (*)(int, char**, char**), int, char**, void (*)(), void (*)(),
                          void (*)(), void*);

struct Request {
  std::string cwd;
  bool network = false;
  std::vector<std::string> argv, env;
  int fds[fork_wire::kFds] = {-1, -1, -1};  // stdin, output, the launcher's word
};

// One request; false when the launcher is gone (or sent garbage).
bool Receive(int sock, Request* r) {
  // Static and never cleared: only the pages a request fills are touched,
  // so a fork copies (on write) no more than those.
  static char space[fork_wire::kMaxRequest];
  char control[CMSG_SPACE(sizeof(int) * fork_wire::kFds)] = {};
  struct iovec iov = {space, sizeof space};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) return false;
  std::string buf(space, static_cast<size_t>(n));
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int) * fork_wire::kFds)) {
    return false;
  }
  std::memcpy(r->fds, CMSG_DATA(c), sizeof r->fds);
  size_t at = 0;
  std::string network;
  if (!fields::Take(buf, &at, &r->cwd) || !fields::Take(buf, &at, &network) ||
      !fields::TakeList(buf, &at, &r->argv) || !fields::TakeList(buf, &at, &r->env)) {
    return false;
  }
  r->network = network == "1";
  return at == buf.size() && !r->argv.empty();
}

void Fail(int out, const char* what, int code) {
  (void)!::write(out, what, std::strlen(what));
  ::_exit(code);
}

std::string Joined(const std::vector<std::string>& list) {
  std::string out;
  for (const std::string& s : list) out.append(s.c_str(), std::strlen(s.c_str()) + 1);
  return out;
}

// The server's memory bounds (/proc/self/stat), read once before it
// serves: each child inherits them unchanged. ok false when unreadable.
struct MmBounds {
  bool ok = false;
  unsigned long long field[53] = {};  // fields 26-28 and 45-47 are used
};

MmBounds ReadMmBounds() {
  MmBounds b;
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (f == nullptr) return b;
  char buf[2048];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return b;
  // Fields 3 onwards follow the name; 26-28 and 45-51 are the mm's bounds.
  char* end = nullptr;
  ++p;
  for (int i = 3; i <= 52; ++i) {
    while (*p == ' ') ++p;
    if (i == 3) {
      ++p;  // the state letter
      continue;
    }
    b.field[i] = std::strtoull(p, &end, 10);
    if (end == p) return b;
    p = end;
  }
  b.ok = true;
  return b;
}

// Makes /proc/self/cmdline and /proc/self/environ show the command's
// arguments and environment instead of the server's (PR_SET_MM_MAP, which
// needs no privilege); left as they are when the kernel refuses.
void ShowAsOwn(const MmBounds& b, const std::string& args, const std::string& env) {
  if (!b.ok) return;
  struct prctl_mm_map map = {};
  map.start_code = b.field[26];
  map.end_code = b.field[27];
  map.start_stack = b.field[28];
  map.start_data = b.field[45];
  map.end_data = b.field[46];
  map.start_brk = b.field[47];
  map.brk = reinterpret_cast<uintptr_t>(::sbrk(0));
  map.arg_start = reinterpret_cast<uintptr_t>(args.data());
  map.arg_end = map.arg_start + args.size();
  map.env_start = reinterpret_cast<uintptr_t>(env.data());
  map.env_end = map.env_start + env.size();
  map.exe_fd = static_cast<uint32_t>(-1);
  (void)::prctl(PR_SET_MM, PR_SET_MM_MAP, &map, sizeof map, 0);
}

// In the child: becomes the command the launcher asked for. Returns the
// argument vector (the environment follows its terminating null, as
// __libc_start_main expects on the stack).
char** BecomeCommand(const Request& r, const MmBounds& bounds) {
  char word = 0;
  if (::read(r.fds[2], &word, 1) != 1) ::_exit(125);  // the launcher gave up on it
  ::close(r.fds[2]);
  ::setsid();
  if (!EnterSandbox(r.network)) {
    Fail(r.fds[1], "aftershock: cannot enter the sandbox (docs/injector.md)\n", 125);
  }
  if (!r.cwd.empty() && ::chdir(r.cwd.c_str()) != 0) ::_exit(126);
  ::dup2(r.fds[0], 0);
  ::dup2(r.fds[1], 1);
  ::dup2(r.fds[1], 2);
  ::close(r.fds[0]);
  ::close(r.fds[1]);
  // Each list in one block of NUL-terminated strings, as exec lays them out
  // (never freed: they live as long as the process).
  auto* args = new std::string(Joined(r.argv));
  auto* env = new std::string(Joined(r.env));
  ShowAsOwn(bounds, *args, *env);
  auto* vec = new char*[r.argv.size() + r.env.size() + 2];
  size_t i = 0;
  for (size_t at = 0; at < args->size(); at += std::strlen(args->data() + at) + 1) {
    vec[i++] = args->data() + at;
  }
  vec[i++] = nullptr;
  environ = vec + i;
  for (size_t at = 0; at < env->size(); at += std::strlen(env->data() + at) + 1) {
    vec[i++] = env->data() + at;
  }
  vec[i] = nullptr;
  return vec;
}

// Serves until the launcher closes its end; returns only in a child.
char** Serve(int sock) {
  const MmBounds bounds = ReadMmBounds();
  int ready = 0;
  if (::send(sock, &ready, sizeof ready, MSG_NOSIGNAL) != sizeof ready) ::_exit(0);
  for (;;) {
    Request r;
    if (!Receive(sock, &r)) ::_exit(0);
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) {
      ::close(sock);
      return BecomeCommand(r, bounds);
    }
    int answer = pid > 0 ? static_cast<int>(pid) : -errno;
    for (int fd : r.fds) ::close(fd);
    if (::send(sock, &answer, sizeof answer, MSG_NOSIGNAL) != sizeof answer) ::_exit(0);
  }
}

}  // namespace
}  // namespace aftershock

namespace aftershock {
namespace {

// The server's setup from its environment: the socket, or -1 when this
// process is not a fork server.
int ServerSocket() {
  const char* fd = std::getenv(fork_wire::kSocketEnv);
  if (fd == nullptr) return -1;
  const char* sandbox = std::getenv(fork_wire::kSandboxEnv);
  if (sandbox != nullptr && *sandbox != 0 && !AdoptSandbox(sandbox)) ::_exit(125);
  return std::atoi(fd);
}

bool Deferred() {
  const char* d = std::getenv(fork_wire::kDeferredEnv);
  return d != nullptr && std::strcmp(d, "1") == 0;
}

}  // namespace
}  // namespace aftershock

// The deferred serving point (fork_server.h): a target that is started as
// a deferred server calls it once its start-up work (an interpreter's
// imports) is done. Elsewhere it returns 0 at once. In a server it returns
// only in each forked child: 1, with *argv the command's arguments and the
// environment, directory, stdio and sandbox the command's.
extern "C" __attribute__((visibility("default"))) int aftershock_fork_server_serve(char*** argv) {
  using namespace aftershock;
  static bool served = false;  // a child that calls it again is no server
  if (served || !Deferred()) return 0;
  int sock = ServerSocket();
  if (sock < 0) return 0;
  served = true;
  *argv = Serve(sock);
  return 1;
}

extern "C" int __libc_start_main(int (*main)(int, char**, char**), int argc, char** argv,
                                 void (*init)(), void (*fini)(), void (*rtld_fini)(),
                                 void* stack_end) {
  using namespace aftershock;
  static const auto real = reinterpret_cast<StartMain>(dlsym(RTLD_NEXT, "__libc_start_main"));
  if (real == nullptr) ::_exit(127);
  // A deferred server runs the program until it calls the serving point.
  if (int sock = Deferred() ? -1 : ServerSocket(); sock >= 0) {
    argv = Serve(sock);
    argc = 0;
    while (argv[argc] != nullptr) ++argc;
  }
  return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}
