// Call stacks: a write made three calls deep, through a helper that only
// ever writes, beside a caller that also creates and removes files. Built
// twice: with frame pointers and without (tests/injector/stack_test.cc).
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void stack_write_helper(int fd, const char* s) {
  if (write(fd, s, strlen(s)) < 0) _exit(3);
  __asm__ volatile("" ::: "memory");  // no tail call: the caller's frame stays
}

__attribute__((noinline)) void stack_remove_helper(const char* path) {
  if (unlink(path) != 0) _exit(4);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) int stack_level_two(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  stack_write_helper(fd, "deep\n");
  close(fd);
  stack_remove_helper(path);
  __asm__ volatile("" ::: "memory");
  return 0;
}

__attribute__((noinline)) int stack_level_one(const char* path) {
  int r = stack_level_two(path);
  __asm__ volatile("" ::: "memory");
  return r;
}

int main(void) {
  int r = stack_level_one("stacked");
  __asm__ volatile("" ::: "memory");
  return r;
}
