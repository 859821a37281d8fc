// A program the fork server tests run both ways, forked from a server and
// exec'd: everything it prints must be the same. Its constructor counts
// how often it ran in this process (once: the program's own constructors
// run in each forked child, after the server's fork).
//
//   served print [ARG...]   arguments, SERVED_* variables, loader variables,
//                           the working directory, stdin's bytes, the count,
//                           /proc/self/cmdline and /proc/self/environ
//   served exit N           exits N
//   served hang             sleeps for a minute
//   served busy             forks a child that execs /bin/echo, runs a
//                           thread that writes thread.out, changes into
//                           sub/ and writes cwd.out there
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
static int constructed;

__attribute__((constructor)) static void Construct(void) { ++constructed; }

static int Print(int argc, char** argv) {
  for (int i = 2; i < argc; ++i) printf("arg %s\n", argv[i]);
  for (char** e = environ; *e != NULL; ++e) {
    if (strncmp(*e, "SERVED_", 7) == 0 || strncmp(*e, "LD_", 3) == 0 ||
        strncmp(*e, "AFTERSHOCK_FORK", 15) == 0)
      printf("env %s\n", *e);
  }
  char cwd[4096];
  printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf, stdin);
  printf("stdin %.*s\n", (int)n, buf);
  printf("constructed %d\n", constructed);
  for (const char* file = "/proc/self/cmdline"; file; file = file[11] == 'c' ? "/proc/self/environ" : NULL) {
    FILE* f = fopen(file, "r");
    char text[8192];
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f) fclose(f);
    for (size_t i = 0; i < len; ++i) {
      if (text[i] == 0) text[i] = ' ';
    }
    printf("%s %.*s\n", file, (int)len, text);
  }
  return 0;
}

static void* WriteFromThread(void* arg) {
  (void)arg;
  FILE* f = fopen("thread.out", "w");
  if (f) fputs("from a thread\n", f), fclose(f);
  return NULL;
}

static int Busy(void) {
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/echo", "echo", "from an exec'd child", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  pthread_t t;
  pthread_create(&t, NULL, WriteFromThread, NULL);
  pthread_join(t, NULL);
  if (chdir("sub") != 0) return 3;
  FILE* f = fopen("cwd.out", "w");
  if (!f) return 4;
  fputs("in sub\n", f);
  fclose(f);
  printf("child status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  if (strcmp(argv[1], "print") == 0) return Print(argc, argv);
  if (strcmp(argv[1], "exit") == 0 && argc > 2) return atoi(argv[2]);
  if (strcmp(argv[1], "hang") == 0) return sleep(60), 0;
  if (strcmp(argv[1], "busy") == 0) return Busy();
  return 2;
}
