// The mail specification: what every crash state must still deliver, from
// the trace's marks (notes: marks.md).
//
//   ack  "m17 alice@local bob@remote"          the enqueue of m17 exited 0
//   sink "m17 alice@local[ bob@remote...] <h>"  the sink accepted a copy (xxh64 hex)
//   step "enqueue m17" / "deliver" / ...         a workload step started
//
// A crash state with crash_seq C (ops with seq <= C completed; marks.md's
// crash point P is C + 1) must, after recovery and draining, deliver every
// pair acknowledged by a mark with seq <= C. Sink deliveries with seq <= C
// already happened: they count as delivered (the remote side has them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/op_source.h"
#include "model/status.h"
#include "model/trace.h"

namespace aftershock {

struct MailPair {
  std::string message;    // "m17"
  std::string recipient;  // "alice@local"
  auto operator<=>(const MailPair&) const = default;
};

struct Acknowledgement {
  uint64_t seq = 0;
  std::string message;
  std::vector<std::string> recipients;
};

struct SinkDelivery {
  uint64_t seq = 0;
  std::string message;
  std::vector<std::string> recipients;
  std::string content_hash;  // xxh64 of the delivered bytes, hex, as the sink wrote it
};

class MailSpec {
 public:
  // Reads the marks of a whole trace.
  static std::optional<MailSpec> FromSource(OpSource* source, Status* status);

  // Feeds one op (in seq order); only marks matter. Errors name the mark.
  Status Observe(const Op& op);

  // Pairs that a crash right after op `crash_seq` must not lose.
  std::vector<MailPair> MustDeliver(uint64_t crash_seq) const;
  // Sink deliveries that happened before that crash.
  std::vector<SinkDelivery> DeliveredBefore(uint64_t crash_seq) const;
  // Messages whose enqueue step started before that crash (acknowledged or
  // not); a delivery of any other message is a phantom.
  std::vector<std::string> Submitted(uint64_t crash_seq) const;

  // Seconds that `tick` steps before that crash advanced the virtual clock.
  int64_t TicksBefore(uint64_t crash_seq) const;
  // The workload step in progress at that crash: "step 3 (deliver)", or
  // "before the workload".
  std::string StepAt(uint64_t crash_seq) const;

  const std::vector<Acknowledgement>& acknowledgements() const { return acks_; }
  const std::vector<SinkDelivery>& deliveries() const { return sinks_; }

 private:
  std::vector<Acknowledgement> acks_;                        // ascending seq
  std::vector<SinkDelivery> sinks_;                          // ascending seq
  std::vector<std::pair<uint64_t, std::string>> submitted_;  // enqueue steps
  std::vector<std::pair<uint64_t, std::string>> steps_;      // every step: seq, payload
  std::vector<std::pair<uint64_t, int64_t>> ticks_;          // tick steps: seq, seconds
};

}  // namespace aftershock
