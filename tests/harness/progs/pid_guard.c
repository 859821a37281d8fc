// pid_guard PROGRAM [ARG...]: execs PROGRAM with its arguments when the
// library libpid_at_load.so was loaded by this process, and exits 3
// otherwise. Forked from a fork server it was loaded by the server, so
// under one this guard fails where exec'd it succeeds: the fork server's
// check must notice and turn the server off (tests/harness/fork_server_test.cc).
#include <stdio.h>
#include <unistd.h>

int pid_at_load(void);

int main(int argc, char** argv) {
  if (pid_at_load() != (int)getpid()) {
    fprintf(stderr, "pid_guard: my library was loaded by another process\n");
    return 3;
  }
  if (argc < 2) return 2;
  execvp(argv[1], argv + 1);
  perror("pid_guard: exec");
  return 127;
}
