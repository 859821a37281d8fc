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

// True iff `copy` is what a crash can make of `message`: every byte equal
// to the message's or zero (sectors not persisted, zero-filled appends),
// possibly cut short, after any header lines a target prepended.
bool IsTornCopyOf(std::string_view copy, std::string_view message) {
  size_t start = copy.find("Message-ID: <");
  if (start != std::string_view::npos) copy.remove_prefix(start);
  for (size_t i = 0; i < copy.size(); ++i) {
    char want = i < message.size() ? message[i] : '\0';
    if (copy[i] != want && copy[i] != '\0') return false;
  }
  return true;
}

}  // namespace

const Submitted* TornFrom(const std::string& copy,
                          const std::map<std::string, Submitted>& messages) {
  for (const auto& [id, m] : messages) {
    if (IsTornCopyOf(copy, ComposeMessage(id, m.rcpts, m.body_size))) return &m;
  }
  return nullptr;
}

CheckResult Check(const CheckInput& in) {
  Findings f;
  CheckResult result;
  std::map<Pair, int64_t> delivered;  // intact copies per pair
  std::set<std::string> acked_ids;
  for (const auto& [id, rcpt] : in.acked) acked_ids.insert(id);

  for (const DeliveredCopy& d : in.deliveries) {
    ParsedCopy p = ParseCopy(d.copy);
    auto msg = in.messages->find(p.id);
    if (p.id.empty()) {
      // An empty, zeroed or torn file is a damaged copy, not an invention.
      if (const Submitted* m = TornFrom(d.copy, *in.messages)) {
        f.Add(Verdict::kCorrupt, "torn copy of " + m->id + " (" + d.where + "): " +
                                     std::to_string(d.copy.size()) + " bytes, no readable id");
        continue;
      }
    }
    if (p.id.empty() || msg == in.messages->end()) {
      f.Add(Verdict::kPhantom,
            "phantom copy (" + d.where + ")" +
                (p.id.empty() ? " without X-Aftershock-Id" : " of unknown message " + p.id));
      continue;
    }
    if (in.submitted && !in.submitted->count(p.id)) {
      f.Add(Verdict::kPhantom,
            "copy of " + p.id + ", whose enqueue had not started at the crash (" + d.where + ")");
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
