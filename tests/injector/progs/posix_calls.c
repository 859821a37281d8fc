// Plain POSIX calls, each checked against strace -f by record_test.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void Check(int ok, const char* what) {
  if (!ok) {
    perror(what);
    exit(1);
  }
}

int main(void) {
  int fd = open("a", O_CREAT | O_WRONLY | O_TRUNC, 0640);
  Check(fd >= 0, "open");
  Check(write(fd, "hello ", 6) == 6, "write");
  Check(pwrite(fd, "world", 5, 6) == 5, "pwrite");
  Check(fsync(fd) == 0, "fsync");
  Check(fdatasync(fd) == 0, "fdatasync");
  Check(ftruncate(fd, 8) == 0, "ftruncate");
  Check(fchmod(fd, 0750) == 0, "fchmod");
  int fd2 = dup(fd);
  Check(write(fd2, "++", 2) == 2, "write dup");
  int fd3 = fcntl(fd, F_DUPFD_CLOEXEC, 20);
  Check(write(fd3, "--", 2) == 2, "write dupfd");
  Check(dup2(fd, 30) == 30, "dup2");
  Check(write(30, "!!", 2) == 2, "write dup2");
  close(fd3);
  close(fd2);
  close(30);
  Check(fallocate(fd, 0, 0, 64) == 0 || 1, "fallocate");
  close(fd);
  Check(mkdir("dir", 0755) == 0, "mkdir");
  Check(rename("a", "dir/b") == 0, "rename");
  Check(link("dir/b", "c") == 0, "link");
  Check(symlink("dir/b", "s") == 0, "symlink");
  Check(chmod("c", 0600) == 0, "chmod");
  Check(truncate("c", 4) == 0, "truncate");
  Check(unlink("s") == 0, "unlink");
  Check(mkdir("gone", 0700) == 0, "mkdir gone");
  Check(rmdir("gone") == 0, "rmdir");
  Check(open("missing/x", O_CREAT | O_WRONLY, 0600) == -1, "failing open");
  Check(rename("nothing", "dir/x") == -1, "failing rename");
  int dfd = open("dir", O_RDONLY | O_DIRECTORY);
  Check(fsync(dfd) == 0, "fsync dir");
  close(dfd);
  return 0;
}
