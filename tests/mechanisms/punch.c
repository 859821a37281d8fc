// fallocate's PUNCH_HOLE and ZERO_RANGE as a spool frees a delivered
// message: the bytes read as zeros afterwards, and the change is durable only
// after fsync/fdatasync (fallocate(2)). A two-stage queue:
//   PROG VARIANT enqueue ID  writes spool/ID (fsync, rename, fsync of spool/):
//                            exit 0 is the acknowledgement
//   PROG VARIANT deliver     copies every spool file that is not all zeros
//                            into Maildir/new/, then frees it by zeroing it
//                            (a file of zeros is a consumed entry)
// Variants:
//   good-punch  the copy is made durable (fsync of the copy and of
//               Maildir/new) before PUNCH_HOLE|KEEP_SIZE, then fsync
//   bad-punch   the punch is made durable, the copy never is: a power loss
//               keeps the zeros and drops the copy
//   good-zero, bad-zero  the same with FALLOC_FL_ZERO_RANGE (which tmpfs does
//               not support: its test runs on a disk file system)
#include <dirent.h>
#include <linux/falloc.h>

#include "tests/mechanisms/mechq.h"

static int Zeros(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return 0;
  }
  return 1;
}

static void Enqueue(const char* variant, const char* id) {
  char* argv[] = {"punch", (char*)variant, (char*)id, NULL};
  Mechq q = Start(3, argv);
  char tmp[300], dst[300];
  snprintf(tmp, sizeof tmp, "spool/.%s", id);
  snprintf(dst, sizeof dst, "spool/%s", id);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open spool");
  WriteAll(fd, q.msg, q.len);
  if (fsync(fd) != 0 || close(fd) != 0) Die("fsync spool");
  if (rename(tmp, dst) != 0) Die("rename spool");
  int d = open("spool", O_RDONLY | O_DIRECTORY);
  if (d < 0 || fsync(d) != 0) Die("fsync spool/");
  close(d);
}

// Copies spool/NAME (len bytes in buf) into Maildir/new/NAME.
static void Copy(const char* name, const char* buf, size_t len, int durable) {
  char tmp[300], dst[300];
  snprintf(tmp, sizeof tmp, "Maildir/tmp/%s", name);
  snprintf(dst, sizeof dst, "Maildir/new/%s", name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) Die("open copy");
  WriteAll(fd, buf, len);
  if (durable && fsync(fd) != 0) Die("fsync copy");
  if (close(fd) != 0 || rename(tmp, dst) != 0) Die("rename copy");
  if (durable) SyncNewDir();
}

static void Free(int fd, size_t len, int punch) {
  int mode = punch ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;
  if (fallocate(fd, mode, 0, (off_t)len) != 0) Die("fallocate");
  if (fsync(fd) != 0) Die("fsync freed");
}

static void Deliver(const char* variant) {
  DIR* dir = opendir("spool");
  if (dir == NULL) Die("opendir spool");
  struct dirent* e;
  static char buf[1 << 20];
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[300];
    snprintf(path, sizeof path, "spool/%s", e->d_name);
    int fd = open(path, O_RDWR);
    if (fd < 0) Die("open spool file");
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    if (n < 0) Die("read spool file");
    if (n > 0 && !Zeros(buf, (size_t)n)) {
      Copy(e->d_name, buf, (size_t)n, variant[0] == 'g');
      Free(fd, (size_t)n, strstr(variant, "punch") != NULL);
    }
    close(fd);
  }
  closedir(dir);
}

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[2], "enqueue") == 0) {
    Enqueue(argv[1], argv[3]);
  } else if (argc == 3 && strcmp(argv[2], "deliver") == 0) {
    Deliver(argv[1]);
  } else {
    fprintf(stderr, "usage: %s VARIANT enqueue ID | %s VARIANT deliver\n", argv[0], argv[0]);
    return 2;
  }
  return 0;
}
