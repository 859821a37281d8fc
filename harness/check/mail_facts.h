// The mail specification of a recorded trace, as the checker asks for it:
// which pairs were acknowledged and which copies the sink accepted before a
// crash point, the virtual clock there. A thin adapter over the model's
// MailSpec (model/mail_spec.h); crash points here are marks.md's P (records
// with seq < P happened), the model's crash_seq is P - 1.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "model/mail_spec.h"
#include "model/status.h"

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
  // Reads the marks of `trace_path`. An error when the trace or a mark is
  // malformed.
  Status Load(const std::string& trace_path);

  // REQUIRES: Load succeeded; crash_seq >= 1.
  std::set<Pair> AckedBefore(uint64_t crash_seq) const;
  std::vector<SinkMark> SinkBefore(uint64_t crash_seq) const;
  // Messages whose enqueue had started: a copy of any other is a phantom.
  std::set<std::string> SubmittedBefore(uint64_t crash_seq) const;
  // Seconds the `tick` steps before the crash point advanced the clock.
  int64_t TicksBefore(uint64_t crash_seq) const;
  // The workload step in progress at the crash point: "step 3 (deliver)",
  // or "before the workload".
  std::string StepAt(uint64_t crash_seq) const;

 private:
  std::optional<MailSpec> spec_;
};

}  // namespace aftershock
