// Opens that may create their file (O_CREAT without O_EXCL), whose record
// must say whether they did (kFlagCreated): the recorder tries O_EXCL
// first (calls_files.cc, PerformOpen). In the current directory:
//   new        open(O_CREAT) of a new name: created
//   new        again: not created
//   link       a symlink to the missing "target": open(O_CREAT) follows it
//              and creates "target" (O_EXCL alone would refuse the link)
//   dir        an existing directory: open(O_CREAT|O_WRONLY) fails EISDIR
//   at-new     openat(AT_FDCWD, O_CREAT): created
// Exits 0 iff every open behaved as without the recorder.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int Opened(int fd) {
  if (fd < 0) return 0;
  close(fd);
  return 1;
}

int main(void) {
  if (!Opened(open("new", O_CREAT | O_WRONLY, 0644))) return 1;
  if (!Opened(open("new", O_CREAT | O_WRONLY | O_TRUNC, 0644))) return 2;
  if (symlink("target", "link") != 0) return 3;
  if (!Opened(open("link", O_CREAT | O_WRONLY, 0644))) return 4;
  if (access("target", F_OK) != 0) return 5;
  if (mkdir("dir", 0755) != 0) return 6;
  if (open("dir", O_CREAT | O_WRONLY, 0644) != -1 || errno != EISDIR) return 7;
  if (!Opened(openat(AT_FDCWD, "at-new", O_CREAT | O_RDWR, 0600))) return 8;
  return 0;
}
