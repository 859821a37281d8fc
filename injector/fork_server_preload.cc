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
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

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

// In the child: becomes the command the launcher asked for. Returns the
// argument vector (the environment follows its terminating null, as
// __libc_start_main expects on the stack).
char** BecomeCommand(const Request& r) {
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
  auto* vec = new char*[r.argv.size() + r.env.size() + 2];
  size_t i = 0;
  for (const std::string& a : r.argv) vec[i++] = ::strdup(a.c_str());
  vec[i++] = nullptr;
  environ = vec + i;
  for (const std::string& e : r.env) vec[i++] = ::strdup(e.c_str());
  vec[i] = nullptr;
  return vec;
}

// Serves until the launcher closes its end; returns only in a child.
char** Serve(int sock) {
  int ready = 0;
  if (::send(sock, &ready, sizeof ready, MSG_NOSIGNAL) != sizeof ready) ::_exit(0);
  for (;;) {
    Request r;
    if (!Receive(sock, &r)) ::_exit(0);
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) {
      ::close(sock);
      return BecomeCommand(r);
    }
    int answer = pid > 0 ? static_cast<int>(pid) : -errno;
    for (int fd : r.fds) ::close(fd);
    if (::send(sock, &answer, sizeof answer, MSG_NOSIGNAL) != sizeof answer) ::_exit(0);
  }
}

}  // namespace
}  // namespace aftershock

extern "C" int __libc_start_main(int (*main)(int, char**, char**), int argc, char** argv,
                                 void (*init)(), void (*fini)(), void (*rtld_fini)(),
                                 void* stack_end) {
  using namespace aftershock;
  static const auto real = reinterpret_cast<StartMain>(dlsym(RTLD_NEXT, "__libc_start_main"));
  if (real == nullptr) ::_exit(127);
  const char* fd = std::getenv(fork_wire::kSocketEnv);
  const char* sandbox = std::getenv(fork_wire::kSandboxEnv);
  if (fd != nullptr) {
    if (sandbox != nullptr && *sandbox != 0 && !AdoptSandbox(sandbox)) ::_exit(125);
    argv = Serve(std::atoi(fd));
    argc = 0;
    while (argv[argc] != nullptr) ++argc;
  }
  return real(main, argc, argv, init, fini, rtld_fini, stack_end);
}
