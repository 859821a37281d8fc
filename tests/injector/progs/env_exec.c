// Re-execs itself (once) with an environment that lost LD_PRELOAD but kept
// the harness's AFTERSHOCK_ID: the new image must still be recorded and
// still see AFTERSHOCK_ID.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc > 1) {
    const char* id = getenv("AFTERSHOCK_ID");
    int fd = open("second", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || write(fd, id ? id : "none", id ? strlen(id) : 4) < 0) return 1;
    close(fd);
    return 0;
  }
  char* env[64];
  int n = 0;
  for (char** e = environ; *e != NULL && n < 62; ++e) {
    if (strncmp(*e, "LD_PRELOAD=", 11) != 0) env[n++] = *e;
  }
  env[n] = NULL;
  char* args[] = {argv[0], "again", NULL};
  execve("/proc/self/exe", args, env);
  return 1;
}
