// Process crashes: the queue is killed at every fault point, at every time the
// point is reached in the standard workload, under both delivery modes; then
// it recovers and drains. No acknowledged pair may be lost, nothing may be
// corrupt or phantom, and duplicates appear only in the one window between a
// hand-off and its done mark. Then the same check catches bug variants.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>

#include "fault.h"
#include "support.h"
#include "workload.h"

namespace refqueue::testing {
namespace {

struct CrashCase {
  std::string point;
  bool maildir;
};

void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << c.point << (c.maildir ? " (maildir)" : " (sink)");
}

std::string CaseName(const ::testing::TestParamInfo<CrashCase>& info) {
  std::string name = info.param.point.substr(std::string("refqueue/").size());
  for (char& c : name) {
    if (c == '/' || c == '-') c = '_';
  }
  return name + (info.param.maildir ? "_maildir" : "_sink");
}

std::vector<CrashCase> AllCases() {
  std::vector<CrashCase> cases;
  for (std::string_view point : FaultPoints()) {
    bool maildir_only = point.starts_with("refqueue/maildir/");
    if (!maildir_only) cases.push_back({std::string(point), false});
    cases.push_back({std::string(point), true});
  }
  return cases;
}

// The most recipients one hand-off can carry in `steps`: those of one message
// in one queue (the sink takes them in one call).
size_t MaxHandoff(const std::vector<Step>& steps) {
  size_t most = 0;
  for (const Step& step : steps) {
    std::map<std::string, size_t> per_queue;
    for (const std::string& rcpt : step.rcpts) {
      most = std::max(most, ++per_queue[rcpt.substr(rcpt.find('@') + 1)]);
    }
  }
  return most;
}

class KillAtEveryHit : public ::testing::TestWithParam<CrashCase> {};

TEST_P(KillAtEveryHit, NoAcknowledgedPairIsLostAndDuplicatesOnlyInTheWindow) {
  const CrashCase& c = GetParam();
  int hit = 1;
  int duplicated = 0;
  for (;; ++hit) {
    Sandbox sandbox;
    Options options = sandbox.MakeOptions(c.maildir);
    options.now_s = 100000;
    WorkloadResult result = RunWorkload(sandbox, options, StandardWorkload(), {c.point, hit});
    if (!result.killed) {
      ASSERT_TRUE(result.failure.empty()) << result.failure;
      // Without a kill every acknowledged pair is delivered exactly once.
      EXPECT_TRUE(result.outcome.Safe() && result.outcome.duplicated.empty())
          << result.outcome.Describe();
      break;
    }
    SCOPED_TRACE("killed at hit " + std::to_string(hit) + " of " + c.point);
    ASSERT_TRUE(result.failure.empty()) << result.failure;
    EXPECT_TRUE(result.outcome.Safe()) << result.outcome.Describe();
    duplicated += static_cast<int>(result.outcome.duplicated.size());
    if (InDuplicateWindow(c.point)) {
      // One hand-off at most was in flight: its recipients, once more each.
      size_t limit = c.maildir ? 1 : MaxHandoff(StandardWorkload());
      EXPECT_LE(result.outcome.duplicated.size(), limit) << result.outcome.Describe();
      for (const auto& [pair, count] : result.outcome.counts) EXPECT_LE(count, 2);
    } else {
      EXPECT_TRUE(result.outcome.duplicated.empty()) << result.outcome.Describe();
    }
  }
  // The workload must reach every point, or the test proves nothing.
  EXPECT_GT(hit, 1) << c.point << " was never reached";
  RecordProperty("kills", hit - 1);
  RecordProperty("duplicated_pairs", duplicated);
}

INSTANTIATE_TEST_SUITE_P(FaultPoints, KillAtEveryHit, ::testing::ValuesIn(AllCases()), CaseName);

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

// Bug variants that a process crash exposes: the same workload and check, one
// kill, and the violation is found.
WorkloadResult RunBuggy(const std::string& bug, const Kill& kill, bool maildir = false) {
  Sandbox sandbox;
  Options options = sandbox.MakeOptions(maildir);
  options.now_s = 100000;
  EXPECT_TRUE(BugSet::Parse(bug, &options.bugs).ok());
  WorkloadResult result = RunWorkload(sandbox, options, StandardWorkload(), kill);
  EXPECT_TRUE(result.killed) << kill.point << " not reached";
  return result;
}

TEST(BugVariants, DoneBeforeDeliveryLosesTheCopyWhenKilledAfterTheMark) {
  WorkloadResult result = RunBuggy("done-before-delivery", {"refqueue/deliver/after-mark", 1});
  EXPECT_FALSE(result.outcome.lost.empty()) << result.outcome.Describe();
}

TEST(BugVariants, DoneBeforeDeliveryLosesTheMaildirCopyToo) {
  WorkloadResult result =
      RunBuggy("done-before-delivery", {"refqueue/deliver/after-mark", 2}, /*maildir=*/true);
  EXPECT_FALSE(result.outcome.lost.empty()) << result.outcome.Describe();
}

TEST(BugVariants, WorkfileUnlinkFirstLosesTheMessageWhenKilledDuringFanout) {
  WorkloadResult result = RunBuggy("workfile-unlink-first", {"refqueue/fanout/after-output", 1});
  EXPECT_FALSE(result.outcome.lost.empty()) << result.outcome.Describe();
}

TEST(BugVariants, ChmodBeforeLastWriteLeavesATrustedTornOutputAndLosesIt) {
  WorkloadResult result = RunBuggy("chmod-before-last-write", {"refqueue/fanout/after-chmod", 1});
  EXPECT_FALSE(result.outcome.lost.empty()) << result.outcome.Describe();
}

TEST(BugVariants, RecoverNotIdempotentDuplicatesOutsideTheWindow) {
  WorkloadResult result = RunBuggy("recover-not-idempotent", {"refqueue/fanout/after-output", 1});
  EXPECT_TRUE(result.outcome.Safe()) << result.outcome.Describe();
  EXPECT_FALSE(result.outcome.duplicated.empty()) << result.outcome.Describe();
}

// stale-ignores-age needs no crash at all, only a recover that runs while an
// enqueue is still writing its file (an incomplete file that is not stale).
TEST(ConcurrentRecover, YoungIncompleteFileOfARunningEnqueueSurvivesRecover) {
  Sandbox sandbox;
  WorkloadResult result =
      RunRecoverDuringEnqueue(sandbox, sandbox.MakeOptions(false), "refqueue/enqueue/after-write");
  ASSERT_TRUE(result.failure.empty()) << result.failure;
  EXPECT_TRUE(result.submitted["m1"].acked);
  EXPECT_TRUE(result.outcome.Safe() && result.outcome.duplicated.empty())
      << result.outcome.Describe();
}

TEST(BugVariants, StaleIgnoresAgeDeletesTheFileOfARunningEnqueueAndLosesIt) {
  Sandbox sandbox;
  Options options = sandbox.MakeOptions(false);
  ASSERT_TRUE(BugSet::Parse("stale-ignores-age", &options.bugs).ok());
  WorkloadResult result = RunRecoverDuringEnqueue(sandbox, options, "refqueue/enqueue/after-write");
  ASSERT_TRUE(result.failure.empty()) << result.failure;
  EXPECT_TRUE(result.submitted["m1"].acked);
  EXPECT_FALSE(result.outcome.lost.empty()) << result.outcome.Describe();
}

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
