// *at calls with directory fds, renameat2 flags, and an O_TMPFILE file given
// its name by linkat.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void) {
  if (mkdir("d1", 0755) != 0 || mkdir("d2", 0755) != 0) return 1;
  int d1 = open("d1", O_RDONLY | O_DIRECTORY);
  int d2 = open("d2", O_PATH | O_DIRECTORY);
  int fd = openat(d1, "f", O_CREAT | O_WRONLY, 0644);
  if (fd < 0 || write(fd, "abc", 3) != 3) return 1;
  close(fd);
  if (renameat2(d1, "f", d2, "g", RENAME_NOREPLACE) != 0) return 1;
  if (linkat(d2, "g", d1, "h", 0) != 0) return 1;
  if (unlinkat(d2, "g", 0) != 0) return 1;
  if (mkdirat(d1, "sub", 0700) != 0 || unlinkat(d1, "sub", AT_REMOVEDIR) != 0) return 1;
  if (fchmodat(d1, "h", 0604, 0) != 0) return 1;
  int t = openat(d2, ".", O_TMPFILE | O_WRONLY, 0640);
  if (t >= 0) {
    if (write(t, "tmpfile", 7) != 7) return 1;
    if (linkat(t, "", d2, "named", AT_EMPTY_PATH) != 0) {
      char proc[64];
      snprintf(proc, sizeof proc, "/proc/self/fd/%d", t);
      if (linkat(AT_FDCWD, proc, d2, "named", AT_SYMLINK_FOLLOW) != 0) return 1;
    }
    close(t);
  }
  if (renameat2(d1, "h", d2, "named", RENAME_EXCHANGE) != 0) return 1;
  close(d1);
  close(d2);
  return 0;
}
