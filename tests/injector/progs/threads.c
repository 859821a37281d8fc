// Threads writing concurrently: every write must be recorded once, in one
// total order (record_test checks the sequence numbers).
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

enum { kThreads = 8, kWrites = 200 };

static int shared_fd;

static void* Writer(void* arg) {
  long id = (long)arg;
  char name[32];
  snprintf(name, sizeof name, "own-%ld", id);
  int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  for (int i = 0; i < kWrites; ++i) {
    char line[32];
    int n = snprintf(line, sizeof line, "%ld:%d\n", id, i);
    if (write(fd, line, n) != n || write(shared_fd, line, n) != n) return (void*)1;
  }
  fsync(fd);
  close(fd);
  return NULL;
}

int main(void) {
  shared_fd = open("shared", O_CREAT | O_WRONLY | O_APPEND, 0644);
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; ++i) pthread_create(&t[i], NULL, Writer, (void*)i);
  for (int i = 0; i < kThreads; ++i) pthread_join(t[i], NULL);
  close(shared_fd);
  return 0;
}
