// Findings: the violation groups of a whole run, joined into one entry per
// root cause, so that one bug is one finding however many states, messages,
// queues, scenarios and models show it (docs/report-format.md, "Findings").
//
// Derived from the report alone (groups, their causes and culprits), so
// every writer, and `aftershock report` on an old report.json, gets the
// same findings. Allowed duplicates are never findings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reports/report.h"

namespace aftershock {

// A group's cause, split along its grammar (harness/explore/crash_cause.h):
//   "dropped CALL PATH", "torn CALL PATH", "lost to a failed fsync: CALL PATH",
//   "crash during PHASE, after CALL PATH", "crash during PHASE, before its first op",
//   "crash before the first step", "no crash: the state the whole run left",
// any of them after an interleaving: "restart ran beside step 1 (enqueue m1),
// paused before write incoming/#: ".
struct CauseParts {
  std::string beside;  // "restart ran beside step 1 (enqueue m1)", "" when none
  std::string kind;    // "dropped", "torn", "lost-to-fsync", "crash", "end", "start", "other"
  std::string phase;   // crash: "deliver", "restart", "enqueue"
  std::string call;    // "rename"
  std::string path;    // "{root}/incoming/#"
  // dropped/torn/lost-to-fsync: the sync the state lacked: "fsync of the
  // file" (data, size, mode) or "fsync of its directory" (names).
  std::string MissingStep() const;
};
CauseParts ParseCause(const std::string& cause);

// True for a call (as causes and `trace show` name it: "open", "rename")
// that changes names in a directory: a crash keeps it only once the
// directory is synced. Every other call changes a file's data or inode.
bool ChangesADirectory(const std::string& call);

// One group of one scenario x model that a finding explains.
struct FindingPlace {
  size_t scenario = 0;  // index into Report::scenarios
  size_t model = 0;     // index into ScenarioResult::models
  size_t group = 0;     // index into ModelResult::groups
};

struct Finding {
  std::string title;        // what is wrong, in one line
  std::string key;          // the canonical key (stable across runs and machines)
  std::string fingerprint;  // 16 hex digits of a hash of `key` (SARIF partialFingerprints)
  Verdict verdict = Verdict::kLost;  // the worst verdict it explains
  bool expected = true;     // every place is a violation its scenario expects
  int64_t states = 0;       // violating states it explains, over all places
  std::vector<FindingPlace> places;  // the first is the primary (culprit, example)
  std::vector<std::string> scenarios;  // names, in report order, each once
  std::vector<std::string> models;     // names, in first-seen order, each once
};

// The findings of `r`: unexpected ones first, then by states (most first),
// then by key, so that one report gives one order.
std::vector<Finding> FindFindings(const Report& r);

// "7 state(s) in s1, s2 under posix, ext4-ordered": where `f` was seen,
// as every writer says it.
std::string FindingReach(const Finding& f);

// "3 findings (2 unexpected)", "no findings".
std::string FindingsHeadline(const std::vector<Finding>& findings);

}  // namespace aftershock
