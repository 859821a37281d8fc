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

}  // namespace
}  // namespace refqueue::testing
