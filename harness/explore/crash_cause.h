// The crash in words, for grouping violations: "dropped rename
// {root}/incoming/#", "crash during deliver, after unlink {root}/new/#".
// Paths are patterns (the root as {root}, digit runs as '#') so that the
// same mistake on another message falls into the same group.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "harness/check/mail_facts.h"
#include "harness/explore/model_adapter.h"
#include "model/trace.h"

namespace aftershock {

// The ops of one trace inside its crash domain: the only ones a crash can cut.
class OpIndex {
 public:
  void Load(const std::string& trace_path, const std::string& root);
  // "rename {root}/incoming/#" for the op with `seq`, or "" when unknown.
  std::string Describe(uint64_t seq, const std::string& root) const;
  // The last op before `seq`.
  std::string DescribeBefore(uint64_t seq, const std::string& root) const;

 private:
  std::map<uint64_t, std::pair<OpKind, std::string>> ops_;
};

// The cause of state `s` of the trace indexed by `ops`. end_seq: one past
// the last record of the run (0 = unknown): a state at or past it is the
// end state, which no crash cut.
std::string Cause(const CrashStateRef& s, const OpIndex& ops, const MailFacts& facts,
                  const std::string& root, uint64_t end_seq = 0);

}  // namespace aftershock
