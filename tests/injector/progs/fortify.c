// Built with -D_FORTIFY_SOURCE=2 -O2: open with non-constant flags goes
// through __open64_2 / __openat64_2.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  (void)argv;
  int flags = argc > 5 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;
  int fd = open("fortified", flags, 0644);
  if (fd < 0) return 1;
  if (write(fd, "f", 1) != 1) return 1;
  close(fd);
  int dfd = open(".", O_RDONLY | O_DIRECTORY);
  int fd2 = openat(dfd, "fortified2", flags, 0600);
  if (fd2 < 0) return 1;
  if (write(fd2, "ff", 2) != 2) return 1;
  close(fd2);
  close(dfd);
  return 0;
}
