// stdio reaches the kernel through glibc-internal paths: fopen, fprintf,
// fflush, fclose, dprintf, and a stream flushed only by exit().
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  FILE* f = fopen("flushed", "w");
  if (f == NULL) return 1;
  fprintf(f, "line %d\n", 1);
  fflush(f);
  fprintf(f, "line %d\n", 2);
  fclose(f);
  FILE* g = fopen("appended", "a");
  if (g == NULL) return 1;
  fputs("first\n", g);
  fclose(g);
  int fd = open("dprintf", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  dprintf(fd, "value=%d\n", 7);
  close(fd);
  FILE* h = fopen("at-exit", "w");  // never closed: exit() flushes it
  if (h == NULL) return 1;
  fprintf(h, "unflushed until exit\n");
  return 0;
}
