// io_uring_setup is refused; a write outside the root is an escape.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  char params[120];
  memset(params, 0, sizeof params);
  long r = syscall(SYS_io_uring_setup, 4, params);
  printf("io_uring_setup %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
  if (argc > 1) {
    int fd = open(argv[1], O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "out", 3) != 3) return 1;
    close(fd);
  }
  return 0;
}
