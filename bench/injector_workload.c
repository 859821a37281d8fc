// Benchmark workload for the recorder, standing in for refqueue enqueues
// until the reference queue is on main: for each of N messages, create a
// temporary file, write it, fsync it, mark it complete (fchmod +x, as
// Postfix does), close it and rename it into place; then one "delivery"
// pass reads and unlinks every file.
//   injector_workload DIR N        all in one process
//   injector_workload DIR N one I  only message I (for one process per message)
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int Enqueue(const char* dir, int i) {
  char tmp[4096], dst[4096], body[1024];
  snprintf(tmp, sizeof tmp, "%s/tmp.%d", dir, i);
  snprintf(dst, sizeof dst, "%s/msg.%d", dir, i);
  memset(body, 'a' + i % 26, sizeof body);
  int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return 1;
  if (write(fd, body, sizeof body) != (ssize_t)sizeof body) return 1;
  if (fsync(fd) != 0 || fchmod(fd, 0700) != 0 || close(fd) != 0) return 1;
  return rename(tmp, dst);
}

static int Deliver(const char* dir) {
  DIR* d = opendir(dir);
  if (d == NULL) return 1;
  struct dirent* e;
  char path[4096], buf[1024];
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, "msg.", 4) != 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) return 1;
    close(fd);
    if (unlink(path) != 0) return 1;
  }
  closedir(d);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DIR N [one I | deliver]\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[2]);
  if (argc >= 5 && strcmp(argv[3], "one") == 0) return Enqueue(argv[1], atoi(argv[4]));
  if (argc >= 4 && strcmp(argv[3], "deliver") == 0) return Deliver(argv[1]);
  for (int i = 0; i < n; ++i) {
    if (Enqueue(argv[1], i) != 0) return 1;
  }
  return Deliver(argv[1]);
}
