// Reports what each call returned, so fault tests can check that an
// injected fault reached the program as specified:
//   "open 3", "write 5", "write -1 EIO", "fsync -1 EIO", "rename 0"...
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
  int fd = open("data.tmp", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  Report("open", fd);
  for (int i = 0; i < 4; ++i) Report("write", write(fd, "12345", 5));
  Report("fsync", fsync(fd));
  Report("close", close(fd));
  Report("rename", rename("data.tmp", "data"));
  return 0;
}
