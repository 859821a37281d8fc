// A target that tries to switch the recorder off: blocks every signal,
// installs its own SIGSYS handler and disarms syscall user dispatch. Its
// writes must still be recorded.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

static void Handler(int sig) { (void)sig; }

int main(void) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  signal(SIGSYS, Handler);
  int r = prctl(59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0, 0, 0, 0);
  printf("prctl %d\n", r);
  int fd = open("still-recorded", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "yes", 3) != 3) return 1;
  close(fd);
  return 0;
}
