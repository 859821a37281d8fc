// truncate / ftruncate change the size: durable after fsync/fdatasync of
// the file (a size change is metadata fdatasync flushes: fdatasync(2)).
//   good       write the message and a trailer, ftruncate to the message, fsync
//   good-path  the same with truncate(path)
//   bad        fsync before the ftruncate only: the trailer can survive
#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  WriteAll(fd, q.msg, q.len);
  WriteAll(fd, "TRAILER NOT PART OF THE MESSAGE\n", 32);
  if (Is(&q, "bad") && fsync(fd) != 0) Die("fsync");
  if (Is(&q, "good-path")) {
    if (truncate(q.tmp, (off_t)q.len) != 0) Die("truncate");
  } else if (ftruncate(fd, (off_t)q.len) != 0) {
    Die("ftruncate");
  }
  if (!Is(&q, "bad") && fsync(fd) != 0) Die("fsync");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
