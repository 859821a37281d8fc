// O_SYNC / O_DSYNC at open: each write is durable (data and the metadata
// needed to read it) when it returns; the new name is not.
//   good        O_SYNC, rename, fsync of the directory
//   good-dsync  the same with O_DSYNC
//   bad         O_SYNC but no directory fsync: the name can be lost
//   bad-setfl   fcntl(F_SETFL, O_DSYNC) after open: Linux ignores it
//               (fcntl(2): F_SETFL changes only O_APPEND, O_ASYNC,
//               O_DIRECT, O_NOATIME, O_NONBLOCK), so the writes are not synced
#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int flags = O_WRONLY | O_CREAT | O_EXCL;
  if (Is(&q, "good") || Is(&q, "bad")) flags |= O_SYNC;
  if (Is(&q, "good-dsync")) flags |= O_DSYNC;
  int fd = open(q.tmp, flags, 0600);
  if (fd < 0) Die("open");
  if (Is(&q, "bad-setfl") && fcntl(fd, F_SETFL, O_DSYNC) != 0) Die("fcntl");
  WriteAll(fd, q.msg, q.len);
  if (close(fd) != 0) Die("close");
  Publish(&q);
  if (!Is(&q, "bad")) SyncNewDir();
  return 0;
}
