// The marks of a recorded trace, indexed for the checker: which pairs were
// acknowledged and which copies the sink accepted before a crash point, and
// the virtual clock there.
// TODO(model): model/mail_spec.h computes acked pairs and sink deliveries
// from the same marks; switch AckedBefore/SinkBefore to it when it lands.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace aftershock {

using Pair = std::pair<std::string, std::string>;  // (message id, recipient)

struct SinkMark {
  uint64_t seq = 0;
  std::string id;  // "-" when the copy carried no X-Aftershock-Id
  std::vector<std::string> rcpts;
  std::string hash;  // xxh64 hex of the copy
};

class MailFacts {
 public:
  // Reads the marks of `trace_path`. Returns false with *error when the
  // trace is unreadable.
  bool Load(const std::string& trace_path, std::string* error);

  std::set<Pair> AckedBefore(uint64_t crash_seq) const;
  std::vector<SinkMark> SinkBefore(uint64_t crash_seq) const;
  // Seconds the `tick` steps before the crash point advanced the clock.
  int64_t TicksBefore(uint64_t crash_seq) const;
  // One line naming the workload step in progress at the crash point.
  std::string StepAt(uint64_t crash_seq) const;

 private:
  std::vector<std::pair<uint64_t, std::vector<std::string>>> acks_;  // seq, [id, rcpt...]
  std::vector<SinkMark> sinks_;
  std::vector<std::pair<uint64_t, int64_t>> ticks_;
  std::vector<std::pair<uint64_t, std::string>> steps_;
};

std::vector<std::string> SplitWords(const std::string& s);

}  // namespace aftershock
