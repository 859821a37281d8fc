// posix_spawn of a program that does not exist: glibc's child, which shares
// the parent's memory (clone(CLONE_VM | CLONE_VFORK) on a stack of its own),
// fails its exec and leaves with _exit(127). Under the recorder the parent,
// once resumed, once jumped into the child's _exit and died of SIGSEGV.
// Writes "after" once the spawns are done; exits 0 when they failed as
// they should.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

int main(void) {
  for (int i = 0; i < 20; ++i) {
    pid_t pid;
    char* argv[] = {"/nonexistent/aftershock-test", NULL};
    int err = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);
    int status = 0;
    // glibc reports the failed exec as posix_spawn's error; an older one
    // as the child's exit status 127.
    if (err == 0 &&
        (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 127)) {
      return 1;
    }
  }
  int fd = open("after", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "ok\n", 3) != 3 || close(fd) != 0) return 2;
  return 0;
}
