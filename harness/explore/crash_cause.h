// The crash in words, for grouping violations: "dropped rename
// {root}/incoming/#", "crash during deliver, after unlink {root}/new/#".
// Paths are patterns (the root as {root}, digit runs as '#') so that the
// same mistake on another message falls into the same group.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "harness/check/mail_facts.h"
#include "harness/explore/model_adapter.h"
#include "model/trace.h"

namespace aftershock {

// Which files held which message: a write whose bytes carry the message's
// `X-Aftershock-Id:` header marks its file; a rename or link of a marked
// name marks the new name. A message stored without its header in one
// write (split, encoded, compressed) stays unknown.
class MessageFiles {
 public:
  // REQUIRES: ops added in seq order.
  void Add(const Op& op);
  // Every name that held message `id`; nullptr when none is known.
  const std::set<std::string>* PathsOf(const std::string& id) const;

 private:
  std::map<std::string, std::set<std::string>> paths_;
};

// The ids of the messages whose `X-Aftershock-Id:` header is whole in data.
std::vector<std::string> MessageIdsIn(const std::string& data);

// The removal that lost the last copy of message `id` when no crash cut a
// write: the last unlink or rmdir, before `crash_seq`, of a name that held
// it while no other name held a finished copy of it (closed or synced since
// its last write), with no finished copy after it. nullopt when none.
std::optional<uint64_t> RemovedLastCopy(const std::vector<Op>& ops, uint64_t crash_seq,
                                        const std::string& id);

// The blame rule: of `candidates` (ops the crash dropped or tore, ascending),
// the first one on a file that held message `id` or on a directory entry
// that named it (`paths_of(seq)`: the op's path and path2). When nothing is
// known of where `id` lived (or `id` is ""), the first candidate; when it is
// known and no candidate touches it, none: the crash point is the cause.
std::optional<uint64_t> BlamedSeq(
    const std::vector<uint64_t>& candidates, const MessageFiles& files, const std::string& id,
    const std::function<std::pair<std::string, std::string>(uint64_t)>& paths_of);

// The ops of one trace inside its crash domain: the only ones a crash can cut.
class OpIndex {
 public:
  void Load(const std::string& trace_path, const std::string& root);
  const MessageFiles& files() const { return files_; }
  // The op's path and path2 ("" when unknown).
  std::pair<std::string, std::string> PathsOf(uint64_t seq) const;
  // "rename {root}/incoming/#" for the op with `seq`, or "" when unknown.
  std::string Describe(uint64_t seq, const std::string& root) const;
  // The last op before `seq`.
  std::string DescribeBefore(uint64_t seq, const std::string& root) const;

 private:
  struct Entry {
    OpKind kind;
    std::string path;
    std::string path2;
  };
  std::map<uint64_t, Entry> ops_;
  MessageFiles files_;
};

// The cause of state `s` of the trace indexed by `ops`. end_seq: one past
// the last record of the run (0 = unknown): a state at or past it is the
// end state, which no crash cut. message_id: the message the verdict is
// about (CheckResult::message_id); the dropped or torn op named is one on
// its file (BlamedSeq), else the crash point is.
std::string Cause(const CrashStateRef& s, const OpIndex& ops, const MailFacts& facts,
                  const std::string& root, uint64_t end_seq = 0,
                  const std::string& message_id = "");

}  // namespace aftershock
