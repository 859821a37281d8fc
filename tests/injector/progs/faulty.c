// Reports what each call returned, so fault tests can check that an
// injected fault reached the program as specified:
//   "open 3", "write 5", "write -1 EIO", "fsync -1 EIO", "rename 0"...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void Report(const char* call, long r) {
  if (r < 0) {
    printf("%s -1 %s\n", call, strerrorname_np(errno));
  } else {
    printf("%s %ld\n", call, r);
  }
  fflush(stdout);
}

int main(void) {
  // FAULTY_WAIT_FOR=PATH: wait (at most 20 s) until PATH exists, so that
  // fiu-ctrl can enable points meanwhile.
  const char* wait = getenv("FAULTY_WAIT_FOR");
  for (int i = 0; wait != NULL && i < 2000 && access(wait, F_OK) != 0; ++i) usleep(10000);
  int fd = open("data.tmp", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  Report("open", fd);
  for (int i = 0; i < 4; ++i) Report("write", write(fd, "12345", 5));
  Report("fsync", fsync(fd));
  Report("close", close(fd));
  Report("rename", rename("data.tmp", "data"));
  return 0;
}
