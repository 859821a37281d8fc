// O_APPEND from two fds, pwrite on an O_APPEND fd, writev and pwritev.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

int main(void) {
  int a = open("log", O_CREAT | O_WRONLY | O_APPEND, 0644);
  int b = open("log", O_WRONLY | O_APPEND);
  if (a < 0 || b < 0) return 1;
  if (write(a, "one\n", 4) != 4 || write(b, "two\n", 4) != 4) return 1;
  if (pwrite(a, "three\n", 6, 0) != 6) return 1;  // appends anyway (Linux)
  close(a);
  close(b);
  int v = open("vec", O_CREAT | O_RDWR | O_TRUNC, 0644);
  struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
  if (writev(v, iov, 3) != 6) return 1;
  struct iovec iov2[2] = {{"XY", 2}, {"Z", 1}};
  if (pwritev(v, iov2, 2, 1) != 3) return 1;
  close(v);
  return 0;
}
