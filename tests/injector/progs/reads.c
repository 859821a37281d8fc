// Reads through rewritten call sites: glibc sets up read(2) as
// `xor %eax,%eax; syscall`, too short for a jump, so the recorder rewrites
// it through a hop in the padding after the wrapper's `ret`
// (injector/rewrite.cc). Writes 5,000 bytes to `data`, reads them back one
// byte per read(2) and checks each, then writes the count to `count`.
// Prints "read N" (N: bytes read and checked) or what went wrong.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { kBytes = 5000 };

int main(void) {
  int fd = open("data", O_CREAT | O_RDWR | O_TRUNC, 0644);
  if (fd < 0) return perror("open data"), 1;
  char chunk[100];
  for (int i = 0; i < kBytes; i += (int)sizeof chunk) {
    for (int k = 0; k < (int)sizeof chunk; ++k) chunk[k] = (char)('a' + (i + k) % 26);
    if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk) return perror("write"), 1;
  }
  if (lseek(fd, 0, SEEK_SET) != 0) return perror("lseek"), 1;
  int n = 0;
  char c;
  ssize_t r;
  while ((r = read(fd, &c, 1)) == 1) {
    if (c != (char)('a' + n % 26)) return fprintf(stderr, "byte %d is %c\n", n, c), 1;
    ++n;
  }
  if (r != 0) return perror("read"), 1;
  close(fd);
  int out = open("count", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (out < 0 || dprintf(out, "%d\n", n) <= 0 || fsync(out) != 0 || close(out) != 0) {
    return perror("count"), 1;
  }
  printf("read %d\n", n);
  return 0;
}
