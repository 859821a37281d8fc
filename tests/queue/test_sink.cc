// queue-test-sink LOG [--fail] RCPT...: the sink of the queue tests. Appends
// "RCPTS <r1,r2,...> <bytes>\n<message>" to LOG (outside the queue root) in
// one write, fsyncs it, and exits 0: the remote side accepted the copy. With
// --fail it reads the message and refuses it (exit 75, as a deferral).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: queue-test-sink LOG [--fail] RCPT...\n");
    return 2;
  }
  int first_rcpt = 2;
  bool fail = std::strcmp(argv[2], "--fail") == 0;
  if (fail) ++first_rcpt;
  std::string message;
  char buffer[1 << 16];
  ssize_t n;
  while ((n = read(STDIN_FILENO, buffer, sizeof buffer)) > 0) message.append(buffer, n);
  if (n < 0) return 1;
  if (fail) return 75;
  std::string record = "RCPTS ";
  for (int i = first_rcpt; i < argc; ++i) {
    if (i > first_rcpt) record += ",";
    record += argv[i];
  }
  record += " " + std::to_string(message.size()) + "\n" + message;
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 1;
  if (write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size())) return 1;
  if (fsync(fd) != 0) return 1;
  return close(fd) == 0 ? 0 : 1;
}
