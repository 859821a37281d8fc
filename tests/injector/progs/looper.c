// Writes until killed (a killed target must leave a readable trace).
#include <fcntl.h>
#include <unistd.h>

int main(void) {
  int fd = open("loop", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  for (;;) {
    if (write(fd, "0123456789abcdef", 16) != 16) return 1;
  }
}
