// Stores through shared writable mappings, captured at each capture point:
// msync, a recorded call, munmap, a child's exit, the process's exit.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int fd = open("m", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, 10000) != 0) return 1;
  char* m = mmap(NULL, 10000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) return 2;
  memcpy(m, "first", 5);
  if (msync(m, 4096, MS_SYNC) != 0) return 3;  // captured at msync
  memcpy(m + 5000, "second", 6);
  if (fsync(fd) != 0) return 4;  // captured before the fsync
  memcpy(m + 9000, "third", 5);
  if (munmap(m, 10000) != 0) return 5;  // captured at munmap
  m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
  if (m == MAP_FAILED) return 6;
  pid_t pid = fork();
  if (pid == 0) {
    memcpy(m + 10, "child", 5);  // captured at the child's exit
    _exit(0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 7;
  memcpy(m + 100, "last", 4);  // captured at exit
  return 0;
}
