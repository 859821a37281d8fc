// sync_file_range writes back data pages only: never metadata, never the
// device cache (sync_file_range(2): "This system call is extremely
// dangerous ... there are no guarantees that the data will be available
// after a crash").
//   good  sync_file_range to start writeback early, then fdatasync
//   bad   sync_file_range as the only sync of a new file
#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  WriteAll(fd, q.msg, q.len);
  unsigned flags = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (sync_file_range(fd, 0, 0, flags) != 0) Die("sync_file_range");
  if (Is(&q, "good") && fdatasync(fd) != 0) Die("fdatasync");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
