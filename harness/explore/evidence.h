// Evidence for each violation group's example state (reports/evidence.h):
// the explorer notes every state of a group, then the collector recovers
// each example once more in its own scratch directory, with the file tree
// taken before and after recovery, and derives the culprit and root cause
// from the trace (harness/evidence_cause.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/check/checker.h"
#include "harness/explore/nested.h"
#include "harness/explore/recovery.h"
#include "reports/report.h"
#include "reports/symbolize.h"

namespace aftershock {

inline constexpr size_t kTreeMaxEntries = 400;
inline constexpr size_t kMailMaxFindings = 40;
inline constexpr size_t kCrashPointsMax = 2000;

// Not thread-safe: the explorer calls Note under its lock.
class EvidenceCollector {
 public:
  // `scratch_dir` must lie inside `run_dir` (it is removed afterwards).
  EvidenceCollector(const RecoveryPlan* plan, std::string scratch_dir, std::string run_dir,
                    std::string model, std::string strategy);

  // A state of group `group` (its index in ModelResult::groups); the
  // earliest noted is the group's example. `outer`: for a crash during
  // recovery (id "OUTER/INNER"), the state whose recovery crashed.
  void Note(size_t group, const CrashStateRef& state, const CrashStateRef* outer = nullptr);

  // Fills (*groups)[i].evidence for every noted group. Never fails the run:
  // what could not be collected is said in Evidence::error.
  void Fill(std::vector<ViolationGroup>* groups);

 private:
  const RecoveryPlan* plan_;
  std::string scratch_dir_;
  std::string run_dir_;
  std::string model_;
  std::string strategy_;
  // The recovery of one outer state, recorded again for its trace.
  struct Rerecorded {
    RecordedRecovery recovery;
    CrashPoint point;  // the outer crash's
    std::optional<Trace> trace;
    std::string error;  // non-empty: could not be recorded or read
  };
  // Records the recovery of `outer` once per Fill (groups share outer states).
  const Rerecorded& Rerecord(const CrashStateRef& outer);
  // The state as the crash left it and recovered (in dir/before and
  // dir/recover), the checker's findings, and the cause read from `ops`
  // (the trace the crash cut, whose files lie under `root`) into g's evidence.
  // An error says what could not be collected (the rest still is).
  Status DeriveFromState(const CrashStateRef& state, const CrashPoint& point,
                         const std::vector<Op>& ops, const std::string& root,
                         const ViolationGroup& g, const std::string& dir, Symbolizer* symbolizer,
                         Evidence* e);
  // Fills the evidence of a crash during the recovery of `outer`.
  void FillNested(const CrashStateRef& outer, const CrashStateRef& state, ViolationGroup* g,
                  const std::string& dir, Symbolizer* symbolizer);

  std::map<size_t, CrashStateRef> examples_;
  std::map<size_t, CrashStateRef> outers_;                         // of nested examples
  std::map<std::string, std::unique_ptr<Rerecorded>> rerecorded_;  // by outer id, during Fill
  std::map<size_t, std::map<uint64_t, int64_t>> points_;
};

// Every finding of the checker on `input`, one per pair or copy, at most
// kMailMaxFindings, most severe kinds first.
std::vector<MailFinding> ListMailFindings(const CheckInput& input);

// The tree under `dir` (not following symlinks), sorted by path, at most
// kTreeMaxEntries (*truncated set when cut).
std::vector<TreeEntry> ListTree(const std::string& dir, bool* truncated);

}  // namespace aftershock
