// The checker: one verdict per crash state from what had to survive (the
// acknowledged pairs) and what was delivered (before the crash, and by
// recovery and draining).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness/check/copy_match.h"
#include "harness/check/mail_facts.h"
#include "harness/target/message.h"
#include "reports/verdict.h"

namespace aftershock {

struct DeliveredCopy {
  // Recipients the copy was handed over for. Empty = every recipient of the
  // message it names (a shared maildir without Delivered-To).
  std::vector<std::string> rcpts;
  std::string copy;   // the bytes as delivered
  std::string where;  // "sink before the crash", "sink", "Maildir/new/123.x"
  // What reading the mailbox already took off the copy ("mbox From_ line",
  // "mbox >From unquoted"): a legitimate rewrite, reported as normalized.
  std::vector<std::string> normalized = {};
  // For the last message of an mbox file only: its bytes as the file holds
  // them, From_ line to end of file. When the copy is not intact and these
  // bytes, From_ line aside, are what a crash makes of a message whose
  // enqueue had started and was not acknowledged (cut short, some bytes
  // zero), it is an append the crash interrupted, not a delivered copy (as a
  // maildir's file in tmp/ is not).
  std::string mbox_tail = {};
  // An mbox message whose closing empty line the reader took off. Writers
  // such as procmail add none when the message already ends in an empty
  // line, so the reader may have taken the message's own.
  bool closed_by_empty_line = false;
};

struct CheckInput {
  const std::map<std::string, Submitted>* messages = nullptr;
  std::set<Pair> acked;
  // Messages whose enqueue had started before the crash; a copy of another
  // one is a phantom. Null: every message in `messages`.
  const std::set<std::string>* submitted = nullptr;
  std::vector<DeliveredCopy> deliveries;
  std::string recovery_failure;  // non-empty: recover or deliver failed (what happened)
};

struct CheckResult {
  Verdict verdict = Verdict::kOk;
  std::string detail;  // the first finding of the verdict's kind, one line
  // The message that finding is about (lost, corrupt), "" otherwise: the
  // culprit must be an op on its file (harness/explore/crash_cause.h).
  std::string message_id;
  bool has_duplicate = false;
  int64_t lost_pairs = 0;
  int64_t duplicate_pairs = 0;
  // Intact copies that delivery legitimately rewrote (trace headers
  // prepended, mbox framing), and the kinds of rewrite seen, sorted.
  int64_t normalized_copies = 0;
  std::vector<std::string> normalized;
};

// REQUIRES: input.messages != nullptr.
CheckResult Check(const CheckInput& input);

// Whether `d` is an intact copy of `m` (harness/copy_match.h), with the
// rewrites that reading the mailbox had already taken off added in front.
CopyMatch MatchDelivered(const DeliveredCopy& d, const Submitted& m);

// True iff `d` is not an intact copy but the tail of an mbox holding an
// append the crash interrupted (DeliveredCopy::mbox_tail): not a delivered
// copy at all.
bool IsInterruptedAppend(const DeliveredCopy& d, const CheckInput& input);

// The submitted message a copy without a readable id was torn from, if any.
const Submitted* TornFrom(const std::string& copy,
                          const std::map<std::string, Submitted>& messages);

}  // namespace aftershock
