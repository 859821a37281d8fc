// mkstemp, tmpfile (O_TMPFILE in /tmp: outside the root, so escapes), remove.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void) {
  char name[] = "stemp-XXXXXX";
  int fd = mkstemp(name);
  if (fd < 0) return 1;
  if (write(fd, "temp", 4) != 4) return 1;
  close(fd);
  if (rename(name, "kept") != 0) return 1;
  FILE* t = tmpfile();
  if (t == NULL) return 1;
  fputs("scratch", t);
  fflush(t);
  fclose(t);
  FILE* r = fopen("removed", "w");
  fputs("x", r);
  fclose(r);
  if (remove("removed") != 0) return 1;
  return 0;
}
