#include "harness/check/checker.h"

#include <algorithm>

#include "harness/target/message.h"

namespace aftershock {
namespace {

struct Findings {
  Verdict worst = Verdict::kOk;
  std::string detail;
  std::string id;  // the message `detail` is about, "" when none or unknown
  void Add(Verdict v, const std::string& what, const std::string& about = "") {
    if (v > worst || (v == worst && detail.empty())) {
      worst = v;
      detail = what;
      id = about;
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

// True iff `copy` is `whole` cut short, with any of its bytes zero.
bool TornPrefixOf(std::string_view copy, std::string_view whole) {
  if (copy.size() > whole.size()) return false;
  for (size_t i = 0; i < copy.size(); ++i) {
    if (copy[i] != whole[i] && copy[i] != '\0') return false;
  }
  return true;
}

// True iff `d` is the tail of an mbox that holds an append the crash
// interrupted: past its first line (the From_ line, whatever became of
// it), a torn copy of a message whose enqueue had started and was not
// acknowledged, followed by the separating empty line or part of it.
bool InterruptedAppend(const DeliveredCopy& d, const CheckInput& in,
                       const std::set<std::string>& acked_ids) {
  if (d.mbox_tail.empty()) return false;
  size_t nl = d.mbox_tail.find('\n');
  std::string_view rest =
      nl == std::string::npos ? std::string_view() : std::string_view(d.mbox_tail).substr(nl + 1);
  for (const auto& [id, m] : *in.messages) {
    if (acked_ids.count(id) || (in.submitted && !in.submitted->count(id))) continue;
    if (TornPrefixOf(rest, ComposeMessage(id, m.rcpts, m.body_size) + "\n")) return true;
  }
  return false;
}

}  // namespace

const Submitted* TornFrom(const std::string& copy,
                          const std::map<std::string, Submitted>& messages) {
  for (const auto& [id, m] : messages) {
    if (IsTornCopyOf(copy, ComposeMessage(id, m.rcpts, m.body_size))) return &m;
  }
  return nullptr;
}

CopyMatch MatchDelivered(const DeliveredCopy& d, const Submitted& m) {
  std::string message = ComposeMessage(m.id, m.rcpts, m.body_size);
  CopyMatch match = MatchCopy(d.copy, message);
  if (!match.intact && d.closed_by_empty_line && message.ends_with("\n\n")) {
    // The message's last (empty) line served as the mbox separator.
    CopyMatch shared = MatchCopy(d.copy + "\n", message);
    if (shared.intact) {
      match = shared;
      match.normalized.push_back("mbox empty last line read as the separator");
    }
  }
  match.normalized.insert(match.normalized.begin(), d.normalized.begin(), d.normalized.end());
  return match;
}

bool IsInterruptedAppend(const DeliveredCopy& d, const CheckInput& in) {
  if (d.mbox_tail.empty()) return false;
  ParsedCopy p = ParseCopy(d.copy);
  auto msg = in.messages->find(p.id);
  if (msg != in.messages->end() && MatchDelivered(d, msg->second).intact) return false;
  std::set<std::string> acked_ids;
  for (const auto& [id, rcpt] : in.acked) acked_ids.insert(id);
  return InterruptedAppend(d, in, acked_ids);
}

namespace {

// What the copies of one crash state add up to.
struct Tally {
  Findings f;
  std::map<Pair, int64_t> delivered;  // intact copies per pair
  std::set<std::string> acked_ids;
  std::set<std::string> normalized;
  int64_t normalized_copies = 0;
};

// The message `d` claims to be a copy of, or null after a finding saying
// why it is none.
const Submitted* OwnerOf(const DeliveredCopy& d, const CheckInput& in, Findings* f) {
  ParsedCopy p = ParseCopy(d.copy);
  if (p.id.empty()) {
    // An empty, zeroed or torn file is a damaged copy, not an invention.
    if (const Submitted* m = TornFrom(d.copy, *in.messages)) {
      f->Add(Verdict::kCorrupt, "torn copy of " + m->id + " (" + d.where + "): " +
                                    std::to_string(d.copy.size()) + " bytes, no readable id");
      return nullptr;
    }
  }
  auto msg = in.messages->find(p.id);
  if (p.id.empty() || msg == in.messages->end()) {
    f->Add(Verdict::kPhantom,
           "phantom copy (" + d.where + ")" +
               (p.id.empty() ? " without X-Aftershock-Id" : " of unknown message " + p.id));
    return nullptr;
  }
  if (in.submitted && !in.submitted->count(p.id)) {
    f->Add(Verdict::kPhantom,
           "copy of " + p.id + ", whose enqueue had not started at the crash (" + d.where + ")");
    return nullptr;
  }
  return &msg->second;
}

void JudgeCopy(const DeliveredCopy& d, const CheckInput& in, Tally* t) {
  Findings why;
  const Submitted* owner = OwnerOf(d, in, &why);
  CopyMatch match;
  if (owner) match = MatchDelivered(d, *owner);
  if (!match.intact && InterruptedAppend(d, in, t->acked_ids)) return;
  if (!owner) {
    t->f.Add(why.worst, why.detail, why.id);
    return;
  }
  const Submitted& m = *owner;
  if (!match.intact) {
    t->f.Add(Verdict::kCorrupt,
             "corrupt copy of " + m.id + " (" + d.where + "): " + match.difference, m.id);
    return;
  }
  if (!match.normalized.empty()) {
    ++t->normalized_copies;
    t->normalized.insert(match.normalized.begin(), match.normalized.end());
  }
  for (const auto& r : d.rcpts.empty() ? m.rcpts : d.rcpts) {
    if (std::find(m.rcpts.begin(), m.rcpts.end(), r) == m.rcpts.end()) {
      t->f.Add(Verdict::kPhantom, "copy of " + m.id + " delivered to " + r +
                                      ", not one of its recipients (" + d.where + ")");
      continue;
    }
    ++t->delivered[{m.id, r}];
  }
}

}  // namespace

CheckResult Check(const CheckInput& in) {
  Tally t;
  CheckResult result;
  for (const auto& [id, rcpt] : in.acked) t.acked_ids.insert(id);
  for (const DeliveredCopy& d : in.deliveries) JudgeCopy(d, in, &t);
  Findings& f = t.f;
  for (const Pair& pair : in.acked) {
    if (t.delivered[pair] == 0) {
      ++result.lost_pairs;
      f.Add(Verdict::kLost, "lost " + pair.first + " -> " + pair.second, pair.first);
    }
  }
  for (const auto& [pair, n] : t.delivered) {
    if (n > 1) {
      ++result.duplicate_pairs;
      result.has_duplicate = true;
      f.Add(Verdict::kDuplicate,
            "duplicate " + pair.first + " -> " + pair.second + " x" + std::to_string(n));
    }
    if (n > 0 && !t.acked_ids.count(pair.first)) {
      f.Add(Verdict::kUnackedDelivered,
            "unacknowledged " + pair.first + " delivered to " + pair.second);
    }
  }
  if (!in.recovery_failure.empty()) f.Add(Verdict::kRecoveryFailed, in.recovery_failure);
  result.normalized_copies = t.normalized_copies;
  result.normalized.assign(t.normalized.begin(), t.normalized.end());
  result.verdict = f.worst;
  result.detail = f.detail;
  result.message_id = f.id;
  return result;
}

}  // namespace aftershock
