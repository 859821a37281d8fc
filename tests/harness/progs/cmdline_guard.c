// cmdline_guard PROGRAM [ARG...]: execs PROGRAM with its arguments when
// /proc/self/cmdline holds this process's own arguments, and exits 3
// otherwise. A command forked from a fork server keeps its server's
// /proc/self/cmdline (injector/fork_server.h), so under one this guard
// fails where exec'd it succeeds: the fork server's check must notice and
// turn the fork server off (tests/harness/fork_server_test.cc).
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  char buf[8192];
  FILE* f = fopen("/proc/self/cmdline", "r");
  size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  size_t at = 0;
  for (int i = 0; i < argc; ++i) {
    size_t len = strlen(argv[i]) + 1;
    if (at + len > n || memcmp(buf + at, argv[i], len) != 0) {
      fprintf(stderr, "cmdline_guard: /proc/self/cmdline is not this process's\n");
      return 3;
    }
    at += len;
  }
  if (argc < 2) return 2;
  execvp(argv[1], argv + 1);
  perror("cmdline_guard: exec");
  return 127;
}
