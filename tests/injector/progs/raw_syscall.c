// Raw syscall() bypasses every libc wrapper.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  long fd = syscall(SYS_openat, AT_FDCWD, "raw", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return 1;
  if (syscall(SYS_write, fd, "raw bytes", 9) != 9) return 1;
  syscall(SYS_fsync, fd);
  syscall(SYS_close, fd);
  syscall(SYS_rename, "raw", "raw2");
  return 0;
}
