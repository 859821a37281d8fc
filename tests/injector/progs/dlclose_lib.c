// A library that writes, loaded and unloaded by dlclose.c.
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int lib_write(int fd, const char* s) {
  int r = (int)write(fd, s, strlen(s));
  __asm__ volatile("" ::: "memory");
  return r;
}
