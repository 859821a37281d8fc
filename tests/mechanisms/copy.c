// Writes the kernel makes without the bytes passing through the program:
// copy_file_range, sendfile, splice. They dirty the page cache as write(2)
// does and need the same fsync.
//   good-cfr, good-sendfile, good-splice  the copy, then fsync
//   bad-cfr, bad-sendfile, bad-splice     the copy, no fsync
#include <sys/sendfile.h>

#include "tests/mechanisms/mechq.h"

static int Has(const Mechq* q, const char* suffix) {
  const char* dash = strchr(q->variant, '-');
  return dash != NULL && strcmp(dash + 1, suffix) == 0;
}

int main(int argc, char** argv) {
  Mechq q = Start(argc, argv);
  int out = open(q.tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (out < 0) Die("open");
  if (Has(&q, "splice")) {
    int p[2];
    if (pipe(p) != 0) Die("pipe");
    WriteAll(p[1], q.msg, q.len);
    close(p[1]);
    for (size_t done = 0; done < q.len;) {
      ssize_t n = splice(p[0], NULL, out, NULL, q.len - done, 0);
      if (n <= 0) Die("splice");
      done += (size_t)n;
    }
    close(p[0]);
  } else {
    // The source: an unsynced spool copy beside it, removed afterwards.
    char src[300];
    snprintf(src, sizeof src, "%s.src", q.tmp);
    int in = open(src, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (in < 0) Die("open source");
    WriteAll(in, q.msg, q.len);
    if (lseek(in, 0, SEEK_SET) != 0) Die("lseek");
    for (size_t done = 0; done < q.len;) {
      ssize_t n = Has(&q, "cfr") ? copy_file_range(in, NULL, out, NULL, q.len - done, 0)
                                 : sendfile(out, in, NULL, q.len - done);
      if (n <= 0) Die(Has(&q, "cfr") ? "copy_file_range" : "sendfile");
      done += (size_t)n;
    }
    close(in);
    if (unlink(src) != 0) Die("unlink source");
  }
  if (q.variant[0] == 'g' && fsync(out) != 0) Die("fsync");
  if (close(out) != 0) Die("close");
  Publish(&q);
  SyncNewDir();
  return 0;
}
