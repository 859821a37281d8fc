// Which frame of a blamed op's call stack a finding names. The call site
// itself is often a helper (`WriteAll`, a `Rename` wrapper) that every path
// of the program goes through; the line a person would change is in the
// caller that decided to make the change. The rule (docs/report-format.md,
// "Culprit"): the innermost frame whose function is not a thin wrapper,
// where a thin wrapper is a function every effect of which, anywhere in
// the trace, is of one kind (only writes, only renames, only forks...; an
// open that only looks at a file is an effect too, a sync is not). Without a
// function name for a frame nothing is known of it and it is kept.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/trace.h"
#include "reports/evidence.h"
#include "reports/symbolize.h"

namespace aftershock {

class CulpritFrames {
 public:
  // ops: the whole trace (what each function changes is learnt from it).
  CulpritFrames(const std::vector<Op>& ops, Symbolizer* symbolizer);

  // op's call stack, innermost first, symbolized, a function inlined at a
  // return address as a frame of its own, wrappers marked. Empty when the
  // op has no call site.
  std::vector<StackEntry> StackOf(const Op& op);

  // The entry to blame in a stack from StackOf.
  static size_t Blamed(const std::vector<StackEntry>& stack);

  // The entry to blame for a name (a create, link, rename...) that a crash
  // dropped because its directory was not synced: as Blamed, but one frame
  // out when the function blamed never syncs a directory itself and, where
  // the trace shows it, leaves that to its callers (a name it made was then
  // synced by a function that called it).
  size_t BlamedForName(const std::vector<StackEntry>& stack) const;

  // "frame pointers", "stack scan" or "" (no callers recorded).
  static std::string Method(const Op& op);

 private:
  // The frames at a return address: inlined functions first (Symbolizer).
  std::vector<CodeSite> Locate(const std::string& module, uint64_t offset);

  // Every function of op's stack (inlined ones too), innermost first.
  std::vector<CodeSite> LogicalStack(const Op& op);
  // Fills dir_syncers_ and leave_dir_sync_.
  void LearnDirectorySyncs(const std::vector<Op>& ops);

  Symbolizer* symbolizer_;
  std::map<std::string, std::set<int>> kinds_;  // function -> kinds of effect beneath it
  std::set<std::string> dir_syncers_;           // functions beneath which a directory is synced
  std::set<std::string> leave_dir_sync_;        // functions whose names a caller then synced
};

// The function a frame is known by ("module|function"), "" without a name.
std::string FunctionKey(const CodeSite& site);

}  // namespace aftershock
