// aftershock-sink: the remote side of a delivery. `aftershock-sink RCPT... <
// message` appends the copy to $AFTERSHOCK_SINK_LOG (outside the crash
// domain) and exits 0 only once the copy is durable there; that exit is the
// acceptance a queue may act on (as an SMTP relay's 250). When
// $AFTERSHOCK_TRACE is set it also appends a `sink` mark to the trace, so
// the checker knows which deliveries precede each crash point.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "harness/target/message.h"
#include "harness/target/sink_log.h"
#include "injector/marks.h"

namespace {

constexpr int kExitUsage = 64;     // EX_USAGE
constexpr int kExitTempFail = 75;  // EX_TEMPFAIL: the queue should retry

bool ReadAll(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace aftershock;
  if (argc < 2) {
    std::fprintf(stderr, "usage: aftershock-sink RCPT... < message\n");
    return kExitUsage;
  }
  const char* log = std::getenv("AFTERSHOCK_SINK_LOG");
  if (!log || !*log) {
    std::fprintf(stderr, "aftershock-sink: AFTERSHOCK_SINK_LOG is not set\n");
    return kExitUsage;
  }
  std::vector<std::string> rcpts(argv + 1, argv + argc);
  std::string copy;
  if (!ReadAll(0, &copy)) {
    std::fprintf(stderr, "aftershock-sink: reading the message: %s\n", strerror(errno));
    return kExitTempFail;
  }
  std::string record = EncodeSinkRecord(rcpts, copy);
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "aftershock-sink: %s: %s\n", log, strerror(errno));
    return kExitTempFail;
  }
  // One write, so concurrent sinks never interleave and a reader sees a
  // record whole or (if we are killed mid-way) as an ignored torn tail.
  ssize_t n = write(fd, record.data(), record.size());
  if (n != static_cast<ssize_t>(record.size())) {
    std::fprintf(stderr, "aftershock-sink: %s: short append\n", log);
    close(fd);
    return kExitTempFail;
  }
  // The exit status promises durability: without this fsync, a crash of
  // the machine could lose a copy the queue already marked done.
  if (fsync(fd) != 0 || close(fd) != 0) {
    std::fprintf(stderr, "aftershock-sink: %s: %s\n", log, strerror(errno));
    return kExitTempFail;
  }
  const char* trace = std::getenv("AFTERSHOCK_TRACE");
  if (trace && *trace) {
    ParsedCopy parsed = ParseCopy(copy);
    std::string data = parsed.id.empty() ? "-" : parsed.id;
    for (const auto& r : rcpts) data += " " + r;
    data += " " + Xxh64Hex(copy);
    if (!AppendMark(trace, "sink", data)) {
      std::fprintf(stderr, "aftershock-sink: cannot append the sink mark to %s\n", trace);
      return kExitTempFail;
    }
  }
  return 0;
}
