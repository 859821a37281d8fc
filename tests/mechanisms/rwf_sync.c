// pwritev2 with RWF_DSYNC / RWF_SYNC: that one write is durable at return.
//   good  the first half with RWF_DSYNC, the second with RWF_SYNC
//   bad   the first half with RWF_DSYNC, the second without a flag
#include <sys/uio.h>

#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  size_t half = q.len / 2;
  struct iovec a = {q.msg, half};
  struct iovec b = {q.msg + half, q.len - half};
  if (pwritev2(fd, &a, 1, 0, RWF_DSYNC) != (ssize_t)a.iov_len) Die("pwritev2");
  int second = Is(&q, "good") ? RWF_SYNC : 0;
  if (pwritev2(fd, &b, 1, (off_t)half, second) != (ssize_t)b.iov_len) Die("pwritev2");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
