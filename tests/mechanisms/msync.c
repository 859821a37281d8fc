// Stores through a shared writable mapping, made durable by msync(MS_SYNC)
// (a ranged fdatasync: mm/msync.c calls vfs_fsync_range) or by fsync after
// munmap. MS_ASYNC makes nothing durable (a no-op since Linux 2.6.19).
//   good        ftruncate, mmap, memcpy, msync(MS_SYNC), munmap
//   good-fsync  ftruncate, mmap, memcpy, munmap, fsync
//   bad         msync(MS_ASYNC) as if it were durable
#include <sys/mman.h>

#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  if (ftruncate(fd, (off_t)q.len) != 0) Die("ftruncate");
  char* map = mmap(NULL, q.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) Die("mmap");
  memcpy(map, q.msg, q.len);
  if (Is(&q, "good") && msync(map, q.len, MS_SYNC) != 0) Die("msync");
  if (Is(&q, "bad") && msync(map, q.len, MS_ASYNC) != 0) Die("msync");
  if (munmap(map, q.len) != 0) Die("munmap");
  if (Is(&q, "good-fsync") && fsync(fd) != 0) Die("fsync");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
