// Crashes that recovery must survive too: a crash during the recovery of a
// crash, and the power-loss-only bug variants, which a process kill must not
// expose (the harness's posix model does).
#include <gtest/gtest.h>

#include <string>

#include "fault.h"
#include "support.h"
#include "workload.h"

namespace refqueue::testing {
namespace {

// A crash during recovery: the first crash leaves work for recovery (a work
// file half rolled forward, hard links half made, a copy handed off but not
// marked, a file being written), then recovery is killed at every point and
// every hit it reaches, and recovered again.
struct DoubleCrashCase {
  std::string first_point;
  int first_hit;
};

class KillRecoveryToo : public ::testing::TestWithParam<DoubleCrashCase> {};

TEST_P(KillRecoveryToo, RecoveringAgainLosesNothingAndAddsNoDuplicate) {
  const DoubleCrashCase& c = GetParam();
  int reached = 0;
  for (bool maildir : {false, true}) {
    for (std::string_view point : FaultPoints()) {
      // Recovery never enqueues or delivers: only these points lie on its path.
      if (!point.starts_with("refqueue/fanout/") && !point.starts_with("refqueue/recover/") &&
          !point.starts_with("refqueue/quarantine/")) {
        continue;
      }
      for (int hit = 1;; ++hit) {
        Sandbox sandbox;
        Options options = sandbox.MakeOptions(maildir);
        options.now_s = 100000;
        WorkloadResult first = RunWorkload(sandbox, options, StandardWorkload(),
                                           {c.first_point, c.first_hit}, {std::string(point), hit});
        // Not reached in this delivery mode, or recovery stopped short of `hit`.
        if (!first.killed || !first.recovery_killed) break;
        ++reached;
        SCOPED_TRACE("recovery killed at hit " + std::to_string(hit) + " of " + std::string(point) +
                     (maildir ? " (maildir)" : " (sink)"));
        ASSERT_TRUE(first.failure.empty()) << first.failure;
        EXPECT_TRUE(first.outcome.Safe()) << first.outcome.Describe();
        if (!InDuplicateWindow(c.first_point)) {
          EXPECT_TRUE(first.outcome.duplicated.empty()) << first.outcome.Describe();
        }
      }
    }
  }
  EXPECT_GT(reached, 0) << "recovery had nothing to do";
  RecordProperty("recovery_kills", reached);
}

void PrintTo(const DoubleCrashCase& c, std::ostream* os) {
  *os << c.first_point << " hit " << c.first_hit;
}

INSTANTIATE_TEST_SUITE_P(
    FirstCrash, KillRecoveryToo,
    ::testing::Values(DoubleCrashCase{"refqueue/fanout/after-create", 1},  // a partial output
                      DoubleCrashCase{"refqueue/fanout/after-output", 1},  // m1: workfile
                      DoubleCrashCase{"refqueue/fanout/after-output", 3},  // m2: hardlink
                      DoubleCrashCase{"refqueue/fanout/after-dir-fsync", 1},
                      DoubleCrashCase{"refqueue/deliver/after-mark", 1},    // a file all done
                      DoubleCrashCase{"refqueue/maildir/after-write", 1}),  // a tmp/ copy
    [](const auto& info) {
      std::string name = info.param.first_point.substr(std::string("refqueue/").size());
      for (char& c : name) {
        if (c == '/' || c == '-') c = '_';
      }
      return name + "_" + std::to_string(info.param.first_hit);
    });

// Variants whose damage needs a power loss (a dropped un-synced write or
// directory entry): a process crash keeps the page cache, so these pass the
// whole process-crash sweep. The harness's posix model is what exposes them.
class PowerLossOnly : public ::testing::TestWithParam<std::string> {};

TEST_P(PowerLossOnly, SurvivesEveryFirstHitProcessKill) {
  for (bool maildir : {false, true}) {
    for (std::string_view point : FaultPoints()) {
      if (!maildir && point.starts_with("refqueue/maildir/")) continue;
      Sandbox sandbox;
      Options options = sandbox.MakeOptions(maildir);
      options.now_s = 100000;
      ASSERT_TRUE(BugSet::Parse(GetParam(), &options.bugs).ok());
      WorkloadResult result =
          RunWorkload(sandbox, options, StandardWorkload(), {std::string(point), 1});
      ASSERT_TRUE(result.failure.empty()) << point << ": " << result.failure;
      EXPECT_TRUE(result.outcome.Safe()) << point << ": " << result.outcome.Describe();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BugVariants, PowerLossOnly,
                         ::testing::Values("ack-before-fsync", "no-fsync-before-chmod",
                                           "no-dir-fsync", "no-done-fsync",
                                           "maildir-link-before-fsync", "no-fsync-new",
                                           "hardlink-unlink-before-dirsync"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace refqueue::testing
