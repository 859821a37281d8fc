#include "harness/checker.h"

#include <algorithm>

#include "harness/message.h"

namespace aftershock {
namespace {

struct Findings {
  Verdict worst = Verdict::kOk;
  std::string detail;
  void Add(Verdict v, const std::string& what) {
    if (v > worst || (v == worst && detail.empty())) {
      worst = v;
      detail = what;
    }
  }
};

}  // namespace

CheckResult Check(const CheckInput& in) {
  Findings f;
  CheckResult result;
  std::map<Pair, int64_t> delivered;  // intact copies per pair
  std::set<std::string> acked_ids;
  for (const auto& [id, rcpt] : in.acked) acked_ids.insert(id);

  for (const DeliveredCopy& d : in.deliveries) {
    ParsedCopy p = ParseCopy(d.copy);
    auto msg = in.messages->find(p.id);
    if (p.id.empty() || msg == in.messages->end()) {
      f.Add(Verdict::kPhantom,
            "phantom copy (" + d.where + ")" +
                (p.id.empty() ? " without X-Aftershock-Id" : " of unknown message " + p.id));
      continue;
    }
    const Submitted& m = msg->second;
    std::vector<std::string> rcpts = d.rcpts;
    if (rcpts.empty()) rcpts = m.rcpts;
    bool intact = p.has_header_end && p.body == MessageBody(m.id, m.body_size);
    if (!intact) {
      f.Add(Verdict::kCorrupt, "corrupt copy of " + m.id + " (" + d.where + "): body of " +
                                   std::to_string(p.body.size()) + " bytes, expected " +
                                   std::to_string(m.body_size));
      continue;
    }
    for (const auto& r : rcpts) {
      if (std::find(m.rcpts.begin(), m.rcpts.end(), r) == m.rcpts.end()) {
        f.Add(Verdict::kPhantom, "copy of " + m.id + " delivered to " + r +
                                     ", not one of its recipients (" + d.where + ")");
        continue;
      }
      ++delivered[{m.id, r}];
    }
  }
  for (const Pair& pair : in.acked) {
    if (delivered[pair] == 0) {
      ++result.lost_pairs;
      f.Add(Verdict::kLost, "lost " + pair.first + " -> " + pair.second);
    }
  }
  for (const auto& [pair, n] : delivered) {
    if (n > 1) {
      ++result.duplicate_pairs;
      result.has_duplicate = true;
      f.Add(Verdict::kDuplicate,
            "duplicate " + pair.first + " -> " + pair.second + " x" + std::to_string(n));
    }
    if (n > 0 && !acked_ids.count(pair.first)) {
      f.Add(Verdict::kUnackedDelivered,
            "unacknowledged " + pair.first + " delivered to " + pair.second);
    }
  }
  if (!in.recovery_failure.empty()) f.Add(Verdict::kRecoveryFailed, in.recovery_failure);
  result.verdict = f.worst;
  result.detail = f.detail;
  return result;
}

}  // namespace aftershock
