// A runtime that manages its own thread pointer, as Go without cgo does:
// after arch_prctl(ARCH_SET_FS) nothing may use libc (its TLS is gone), so
// every later call is a raw `syscall` instruction (or one libc wrapper that
// touches no TLS), and the program leaves with exit_group. It writes
// "before" with libc and "after" raw, then through libc's write.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static long Raw(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
}

// Thread control block of our own: the x86-64 ABI wants %fs:0 to point at itself.
static unsigned long g_tcb[64] __attribute__((aligned(64)));

int main(void) {
  FILE* f = fopen("before", "w");
  if (f == NULL) return 1;
  fputs("libc\n", f);
  fclose(f);
  // Enough calls through libc's write for the recorder to rewrite its site
  // (docs/injector.md, "Rewritten call sites"); the site is called again
  // below, after the thread pointer is gone.
  int many = open("many", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  for (int i = 0; i < 64; ++i) {
    if (write(many, "x", 1) != 1) return 2;
  }
  close(many);
  g_tcb[0] = (unsigned long)g_tcb;
  if (Raw(SYS_arch_prctl, ARCH_SET_FS, (long)g_tcb, 0) != 0) Raw(SYS_exit_group, 3, 0, 0);
  long fd = Raw(SYS_openat, AT_FDCWD, (long)"after", O_CREAT | O_WRONLY | O_TRUNC);
  if (fd < 0) Raw(SYS_exit_group, 4, 0, 0);
  if (Raw(SYS_write, fd, (long)"raw\n", 4) != 4) Raw(SYS_exit_group, 5, 0, 0);
  // libc's write reads only %fs:0x18 (zero here) before its `syscall`.
  if (write((int)fd, "libc\n", 5) != 5) Raw(SYS_exit_group, 6, 0, 0);
  Raw(SYS_close, fd, 0, 0);
  Raw(SYS_exit_group, 0, 0, 0);
  return 0;
}
