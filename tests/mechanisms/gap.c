// A deliberately unrecordable write, for the rule that a recorder gap never
// becomes a verdict (mechanisms_test.cc, "Gaps"). The program is correct:
// it stores the message through a shared mapping that it first moves with
// mremap, which the recorder does not follow (a gap naming the file), then
// makes it durable with fsync, rename and a directory fsync. The trace
// lacks the stores, so every crash state that holds the file is unproven.
//   mremap  as above
#include <sys/mman.h>

#include "tests/mechanisms/mechq.h"

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  if (ftruncate(fd, (off_t)q.len) != 0) Die("ftruncate");
  char* map = mmap(NULL, q.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) Die("mmap");
  char* moved = mremap(map, q.len, q.len, MREMAP_MAYMOVE);
  if (moved == MAP_FAILED) Die("mremap");
  memcpy(moved, q.msg, q.len);
  if (munmap(moved, q.len) != 0) Die("munmap");
  if (fsync(fd) != 0) Die("fsync");
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
