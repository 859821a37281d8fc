// fsync and fdatasync act on the inode, through any descriptor of it.
//   good-dup     fsync through a dup of the writing descriptor
//   good-reopen  fdatasync through a read-only re-open of the file
//   good-child   fsync by another process, through its own descriptor
//   good-link    fsync through a descriptor opened by another name (a hard
//                link, removed afterwards)
//   bad          another process fsyncs before the last write: the rest of
//                the message is never synced
#include <sys/wait.h>

#include "tests/mechanisms/mechq.h"

static void SyncInChild(const char* path) {
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    int fd = open(path, O_RDONLY);
    _exit(fd >= 0 && fsync(fd) == 0 ? 0 : 1);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die("child fsync");
  }
}

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int fd = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) Die("open");
  size_t half = q.len / 2;
  WriteAll(fd, q.msg, half);
  if (Is(&q, "bad")) SyncInChild(q.tmp);
  WriteAll(fd, q.msg + half, q.len - half);
  if (Is(&q, "good-dup")) {
    int d = dup(fd);
    if (d < 0 || fsync(d) != 0) Die("fsync dup");
    close(d);
  } else if (Is(&q, "good-reopen")) {
    int r = open(q.tmp, O_RDONLY);
    if (r < 0 || fdatasync(r) != 0) Die("fdatasync re-open");
    close(r);
  } else if (Is(&q, "good-child")) {
    SyncInChild(q.tmp);
  }
  if (Is(&q, "good-link")) {
    char other[300];
    snprintf(other, sizeof other, "%s.link", q.tmp);
    if (link(q.tmp, other) != 0) Die("link");
    int r = open(other, O_RDONLY);
    if (r < 0 || fsync(r) != 0) Die("fsync through the other name");
    close(r);
    if (unlink(other) != 0) Die("unlink");
  }
  if (close(fd) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
