// A run's output directory (--out) replaced as a whole: the run writes into
// a fresh directory beside it, and only a complete output is swapped in. An
// interrupted run leaves the previous output intact, never a mix of two.
#pragma once

#include <string>

#include "model/status.h"

namespace aftershock {

class StagedOut {
 public:
  StagedOut() = default;
  // Removes the staging directory unless Commit() moved it into place.
  ~StagedOut();
  StagedOut(const StagedOut&) = delete;
  StagedOut& operator=(const StagedOut&) = delete;

  // Prepares to replace `out`, which must be absent, an empty directory, or
  // an earlier output (a directory holding only what a run writes): anything
  // else is refused, since replacing it would delete what aftershock did not
  // write. Removes the staging directory a killed run left, and creates a
  // fresh one. The error names the path.
  Status Begin(const std::string& out);

  // Where the run writes. REQUIRES: Begin() succeeded.
  const std::string& path() const { return staging_; }

  // Swaps the staging directory in as `out` (renameat2 RENAME_EXCHANGE, or a
  // rename when there was none), fsyncs the parent so that the swap survives
  // a crash, then removes the earlier output.
  Status Commit();

 private:
  std::string out_;
  std::string staging_;
  bool committed_ = false;
};

}  // namespace aftershock
