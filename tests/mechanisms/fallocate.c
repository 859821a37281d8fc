// fallocate: preallocation that extends the size (zeros), and punching a
// hole or zeroing a range (the bytes read as zeros). Both change data and
// size, durable only after fsync/fdatasync (fallocate(2)).
//   good-alloc  fallocate(0, len), pwrite the message over it, fdatasync
//   bad-alloc   the same without fdatasync: the size may persist, not the bytes
//   good-punch  a durable draft whose first line names a placeholder id;
//               PUNCH_HOLE over that line's text, then fsync
//   bad-punch   the punch is never synced: the placeholder id can survive
//   good-zero, bad-zero  the same with FALLOC_FL_ZERO_RANGE (not on tmpfs,
//                where the golden tests run: the model's unit tests cover it)
#include <linux/falloc.h>

#include "tests/mechanisms/mechq.h"

// The first header line: once its text is zeroed, the line names nothing
// and the real X-Aftershock-Id below it names the message.
static const char kDraft[] = "X-Aftershock-Id: draft\n";

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  int good = q.variant[0] == 'g';
  if (strstr(q.variant, "alloc") != NULL) {
    if (fallocate(fd, 0, 0, (off_t)q.len) != 0) Die("fallocate");
    if (pwrite(fd, q.msg, q.len, 0) != (ssize_t)q.len) Die("pwrite");
    if (good && fdatasync(fd) != 0) Die("fdatasync");
  } else {
    int mode = strstr(q.variant, "punch") != NULL ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                                                  : FALLOC_FL_ZERO_RANGE;
    WriteAll(fd, kDraft, sizeof kDraft - 1);
    WriteAll(fd, q.msg, q.len);
    if (fsync(fd) != 0) Die("fsync draft");
    if (fallocate(fd, mode, 0, (off_t)(sizeof kDraft - 2)) != 0) Die("fallocate");
    if (good && fsync(fd) != 0) Die("fsync");
  }
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
