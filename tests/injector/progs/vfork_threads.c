// Two threads, each starting children with clone(CLONE_VM | CLONE_VFORK) on
// a stack of its own (as posix_spawn, Go's os/exec and aftershock's own
// launcher do) whose child opens, dups and closes files before it execs.
// Under the recorder a child once took itself for its parent (the other
// thread cleared the mark that told them apart) and died of SIGSEGV.
// Each child writes one line to "log" before it execs /bin/true; the file
// "count" gets one byte per child from the parent. Exits 1 when any child failed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kThreads = 2, kChildren = 100, kStack = 256 << 10 };
extern char** environ;

static int Child(void* arg) {
  (void)arg;
  int dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  dup2(null, 0);
  close(dir);
  int log = open("log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  write(log, "child\n", 6);
  close(log);
  char* argv[] = {"/bin/true", NULL};
  execve(argv[0], argv, environ);
  _exit(127);
}

static void* Spawner(void* arg) {
  (void)arg;
  long failed = 0;
  char* stack = mmap(NULL, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                     -1, 0);
  for (int i = 0; i < kChildren; ++i) {
    pid_t pid = clone(Child, stack + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      ++failed;
      fprintf(stderr, "child %d: status %#x\n", i, status);
    }
    int fd = open("count", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    write(fd, "x", 1);
    close(fd);
  }
  return (void*)failed;
}

int main(void) {
  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) pthread_create(&threads[t], NULL, Spawner, NULL);
  long failed = 0;
  for (int t = 0; t < kThreads; ++t) {
    void* r;
    pthread_join(threads[t], &r);
    failed += (long)r;
  }
  printf("failed %ld\n", failed);
  return failed != 0;
}
