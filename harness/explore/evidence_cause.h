// From a recorded trace and one crash state to what a person reads: the
// workload as steps, a timeline excerpt, the culprit op with its call site,
// and the root cause in words. Pure: no files but the modules the
// symbolizer opens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/trace.h"
#include "reports/evidence.h"
#include "reports/symbolize.h"
#include "reports/verdict.h"

namespace aftershock {

// Ops shown on each side of the crash point, and at most this many in all.
inline constexpr int kTimelineContext = 15;
inline constexpr size_t kTimelineMax = 120;

struct CauseInput {
  const std::vector<Op>* ops = nullptr;  // the whole trace, ascending seq
  std::string root;                      // absolute root the target ran in
  std::string model;
  std::string strategy;
  Verdict verdict = Verdict::kOk;
  uint64_t crash_seq = 0;  // records with seq < crash_seq happened
  std::vector<uint64_t> dropped_seqs;
  std::vector<uint64_t> torn_seqs;
  std::vector<MailFinding> mail;  // what the checker found, most severe first
  std::string recovery_failure;   // "recover exited 1", "" when recovery succeeded
};

// Fills out's model, strategy, crash_seq, trace_end, dropped/torn seqs,
// workload, timeline, culprit and root_cause (and sets present).
// REQUIRES: in.ops != nullptr. `symbolizer` may be null (no source lines).
void DeriveEvidence(const CauseInput& in, Symbolizer* symbolizer, Evidence* out);

// `path` relative to `root` ("queue/incoming/A"; "." for the root itself);
// unchanged when it lies outside.
std::string RelativeToRoot(const std::string& path, const std::string& root);

}  // namespace aftershock
