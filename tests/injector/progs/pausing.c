// Creates a, writes "hello" in two writes, fsyncs, renames a to b: the
// pause tests hold it before one of these calls.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int fd = open("a", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return 1;
  if (write(fd, "hel", 3) != 3 || write(fd, "lo", 2) != 2) return 2;
  if (fsync(fd) != 0 || close(fd) != 0) return 3;
  if (rename("a", "b") != 0) return 4;
  printf("done\n");
  return 0;
}
