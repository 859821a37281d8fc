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

// Twins: the same frame layout, so a write through either lies at the same
// stack address with the same return address into the helper; only the
// callers differ. The recorder's cache of scanned stacks must tell them apart.
__attribute__((noinline)) void stack_twin_a(int fd, const char* s) {
  stack_write_helper(fd, s);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void stack_twin_b(int fd, const char* s) {
  stack_write_helper(fd, s);
  __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static int Twins(void) {
  int fd = open("twins", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  stack_twin_a(fd, "twin a 1\n");
  stack_twin_b(fd, "twin b\n");
  stack_twin_a(fd, "twin a 2\n");
  return close(fd);
}

int main(void) {
  if (Twins() != 0) return 5;
  int r = stack_level_one("stacked");
  __asm__ volatile("" ::: "memory");
  return r;
}
