// O_DIRECT bypasses the page cache; it is not durable by itself (open(2):
// "In summary, O_DIRECT is a potentially powerful tool ... does not give
// the guarantees of O_SYNC"): the file size and the device's cache still
// need an fsync.
//   good  O_DIRECT write of whole blocks, ftruncate to the length, fdatasync
//   bad   the same without fdatasync
#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  const size_t block = 4096;
  size_t padded = (q.len + block - 1) / block * block;
  void* buf = NULL;
  if (posix_memalign(&buf, block, padded) != 0) Die("posix_memalign");
  memset(buf, 0, padded);
  memcpy(buf, q.msg, q.len);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL | O_DIRECT, 0600);
  if (fd < 0) Die("open O_DIRECT");
  WriteAll(fd, buf, padded);
  if (ftruncate(fd, (off_t)q.len) != 0) Die("ftruncate");
  if (Is(&q, "good") && fdatasync(fd) != 0) Die("fdatasync");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
