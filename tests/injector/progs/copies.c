// Writes that do not pass through the program's memory, and synchronous
// writes: copy_file_range, sendfile, splice into regular files, pwritev2
// with RWF_DSYNC, and a write through an O_DSYNC descriptor.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

static const char kText[] = "bytes the kernel moves without the program\n";

int main(void) {
  int src = open("src", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (src < 0 || write(src, kText, sizeof kText - 1) != (ssize_t)(sizeof kText - 1)) return 1;
  int a = open("a", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  loff_t in = 0;
  if (copy_file_range(src, &in, a, NULL, sizeof kText - 1, 0) != (ssize_t)(sizeof kText - 1)) {
    return 2;
  }
  int b = open("b", O_WRONLY | O_CREAT | O_TRUNC, 0644);  // sendfile refuses O_APPEND
  if (write(b, "head:", 5) != 5) return 3;
  off_t off = 0;
  if (sendfile(b, src, &off, sizeof kText - 1) != (ssize_t)(sizeof kText - 1)) return 4;
  int c = open("c", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int p[2];
  if (pipe(p) != 0 || write(p[1], kText, sizeof kText - 1) != (ssize_t)(sizeof kText - 1)) {
    return 5;
  }
  loff_t at = 3;
  if (splice(p[0], NULL, c, &at, sizeof kText - 1, 0) != (ssize_t)(sizeof kText - 1)) return 6;
  int d = open("d", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  struct iovec v = {(void*)kText, sizeof kText - 1};
  if (pwritev2(d, &v, 1, 0, RWF_DSYNC) != (ssize_t)(sizeof kText - 1)) return 7;
  int e = open("e", O_WRONLY | O_CREAT | O_TRUNC | O_DSYNC, 0644);
  if (write(e, kText, sizeof kText - 1) != (ssize_t)(sizeof kText - 1)) return 8;
  return 0;
}
