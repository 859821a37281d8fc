// syncfs and sync: everything written to the file system before them is
// durable when they return (syncfs(2), sync(2): "sync() ... and syncfs()
// ... wait for the writeback to complete" since Linux 1.3.20 / 2.6.39).
//   good-syncfs  write, syncfs, rename, syncfs
//   good-sync    write, sync, rename, sync
//   bad-syncfs   write, syncfs, rename: the rename is not synced
//   bad-sync     write, sync, rename: the rename is not synced
#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  WriteAll(fd, q.msg, q.len);
  int syncfs_variant = Is(&q, "good-syncfs") || Is(&q, "bad-syncfs");
  if (syncfs_variant && syncfs(fd) != 0) Die("syncfs");
  if (Is(&q, "good-sync") || Is(&q, "bad-sync")) sync();
  if (close(fd) != 0) Die("close");
  Publish(&q);
  if (Is(&q, "good-syncfs")) {
    int d = open("Maildir", O_RDONLY | O_DIRECTORY);
    if (d < 0 || syncfs(d) != 0) Die("syncfs");
    close(d);
  }
  if (Is(&q, "good-sync")) sync();
  return 0;
}
