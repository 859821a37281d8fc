// fallocate: preallocation that extends the size (zeros), durable only
// after fsync/fdatasync (fallocate(2)). Punching a hole and zeroing a range
// are punch.c's.
//   good-alloc  fallocate(0, len), pwrite the message over it, fdatasync
//   bad-alloc   the same without fdatasync: the size may persist, not the bytes
#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  if (fallocate(fd, 0, 0, (off_t)q.len) != 0) Die("fallocate");
  if (pwrite(fd, q.msg, q.len, 0) != (ssize_t)q.len) Die("pwrite");
  if (q.variant[0] == 'g' && fdatasync(fd) != 0) Die("fdatasync");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
