// Call stacks across dlclose: a write made from a loaded library, the
// library unloaded, then writes from the program itself. The recorder must
// not read the unmapped library while it looks for callers (stack_test.cc).
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

// Writes from a frame whose untouched locals cover where the library's
// frames were: their return addresses into the unloaded library are still
// there, inside the stack the recorder scans.
__attribute__((noinline)) int write_over_old_frames(int fd) {
  volatile char untouched[2048];
  __asm__ volatile("" : : "r"(untouched) : "memory");
  return (int)write(fd, "from main\n", 10);
}

__attribute__((noinline)) int call_library(int (*lib_write)(int, const char*), int fd) {
  volatile char untouched[1024];  // puts the library's frames deep in the stack
  __asm__ volatile("" : : "r"(untouched) : "memory");
  return lib_write(fd, "from the library\n");
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  int fd = open("out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return 1;
  for (int round = 0; round < 3; ++round) {
    void* lib = dlopen(argv[1], RTLD_NOW);
    if (lib == NULL) {
      fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
    int (*lib_write)(int, const char*) = (int (*)(int, const char*))dlsym(lib, "lib_write");
    if (lib_write == NULL || call_library(lib_write, fd) < 0) return 1;
    dlclose(lib);
    if (write_over_old_frames(fd) != 10) return 1;
  }
  return close(fd);
}
