// Root-cause derivation on hand-built traces.
#include "harness/explore/evidence_cause.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "harness/explore/crash_cause.h"
#include "tests/reports/report_fixtures.h"

namespace aftershock {
namespace {

using testing_fixtures::OpBuilder;

constexpr const char* kRoot = "/r";

CauseInput Input(const std::vector<Op>& ops, uint64_t crash_seq, std::vector<uint64_t> dropped) {
  CauseInput in;
  in.ops = &ops;
  in.root = kRoot;
  in.model = "posix";
  in.strategy = "omit-one";
  in.verdict = Verdict::kLost;
  in.crash_seq = crash_seq;
  in.dropped_seqs = std::move(dropped);
  in.mail = {{"lost", "m1", "bob@remote", "acknowledged before the crash"}};
  return in;
}

// enqueue m1: create incoming/A, write, fsync the file, ack; deliver starts.
std::vector<Op> CreateWithoutDirSync(uint64_t* create_line) {
  OpBuilder b(kRoot);
  b.Mark("step", "enqueue m1");
  *create_line = b.OpenCreate("queue/incoming/A", 3, 7);
  b.Write(3, "queue/incoming/A", 7, "From: x\n\nbody");
  b.Fsync(3, "queue/incoming/A", 7);
  b.Close(3);
  b.Mark("exit", "enqueue 0");
  b.Mark("ack", "m1 alice@local bob@remote");
  b.Mark("step", "deliver");
  b.Close(9);
  return b.ops();
}

TEST(RootCause, DroppedCreateNamesTheMessageTheAckAndTheUnsyncedDirectory) {
  uint64_t line = 0;
  std::vector<Op> ops = CreateWithoutDirSync(&line);
  Evidence e;
  Symbolizer sym;
  DeriveEvidence(Input(ops, 10, {2, 3}), &sym, &e);
  EXPECT_EQ(e.root_cause,
            "lost m1 to bob@remote: op 2 `open(\"queue/incoming/A\", O_WRONLY|O_CREAT, 0644)` was "
            "not made durable before the acknowledgement at op 7; its directory "
            "`queue/incoming/` is never fsynced after it");
  ASSERT_TRUE(e.culprit.known);
  EXPECT_EQ(e.culprit.seq, 2u);
  EXPECT_EQ(e.culprit.role, "dropped");
  ASSERT_TRUE(e.culprit.HasSource()) << e.culprit.Site();
  EXPECT_NE(e.culprit.file.find("evidence_cause_test.cc"), std::string::npos) << e.culprit.file;
  EXPECT_EQ(static_cast<uint64_t>(e.culprit.line), line);
}

TEST(RootCause, DirectorySyncAfterTheAckIsNamedAsTooLate) {
  uint64_t line = 0;
  std::vector<Op> ops = CreateWithoutDirSync(&line);
  OpBuilder more(kRoot, ops);
  more.FsyncDir(4, "queue/incoming");
  Evidence e;
  DeriveEvidence(Input(more.ops(), 10, {2}), nullptr, &e);
  EXPECT_NE(e.root_cause.find("its directory `queue/incoming/` is fsynced only at op 10, after the "
                              "acknowledgement"),
            std::string::npos)
      << e.root_cause;
  EXPECT_FALSE(e.culprit.HasSource());  // no symbolizer given
}

TEST(RootCause, RenameIntoAnUnsyncedDirectoryBlamesTheNewParent) {
  OpBuilder b(kRoot);
  b.Mark("step", "enqueue m1");
  b.OpenCreate("queue/incoming/A", 3, 7);
  b.Fsync(3, "queue/incoming/A", 7);
  b.Rename("queue/incoming/A", "queue/active/A");
  b.FsyncDir(4, "queue/incoming");  // the old parent only
  b.Mark("ack", "m1 bob@remote");
  Evidence e;
  DeriveEvidence(Input(b.ops(), 7, {4}), nullptr, &e);
  EXPECT_EQ(
      e.root_cause,
      "lost m1 to bob@remote: op 4 `rename(\"queue/incoming/A\", \"queue/active/A\")` was not "
      "made durable before the acknowledgement at op 6; its directory `queue/active/` is "
      "never fsynced after it");
}

TEST(RootCause, ProcessCrashBlamesTheLastOpBeforeTheCrash) {
  OpBuilder b(kRoot);
  b.Mark("step", "enqueue m1");
  b.OpenCreate("queue/incoming/A", 3, 7);
  b.Mark("ack", "m1 bob@remote");
  b.Mark("step", "deliver");
  b.Unlink("queue/incoming/A");
  b.Close(3);
  CauseInput in = Input(b.ops(), 6, {});
  in.model = "process";
  Evidence e;
  DeriveEvidence(in, nullptr, &e);
  EXPECT_EQ(e.culprit.role, "crash point");
  EXPECT_EQ(e.culprit.seq, 5u);
  EXPECT_EQ(e.root_cause,
            "lost m1 to bob@remote: the target was killed right after op 5 "
            "`unlink(\"queue/incoming/A\")` during step 2 (deliver), after the acknowledgement at "
            "op 3; recovery did not deliver the acknowledged message");
}

TEST(RootCause, ProcessCrashBlamesOnlyOpsInsideTheCrashDomain) {
  OpBuilder b(kRoot);
  b.Mark("ack", "m1 bob@remote");
  b.Unlink("queue/incoming/A");
  OpBuilder outside("/harness");
  outside.Unlink("sink.log");
  std::vector<Op> ops = b.ops();
  Op sink = outside.ops()[0];
  sink.seq = 3;
  ops.push_back(sink);
  CauseInput in = Input(ops, 4, {});
  in.model = "process";
  Evidence e;
  DeriveEvidence(in, nullptr, &e);
  EXPECT_EQ(e.culprit.seq, 2u);
  bool marked = false;
  for (const auto& t : e.timeline) marked |= t.seq == 3 && t.Has(kTimelineCrashPoint);
  EXPECT_TRUE(marked);
}

TEST(RootCause, AnOpAfterTheAcknowledgementIsJudgedAgainstTheCrash) {
  OpBuilder b(kRoot);
  b.Mark("ack", "m1 bob@remote");
  b.Unlink("queue/incoming/A");
  CauseInput in = Input(b.ops(), 3, {2});
  in.verdict = Verdict::kDuplicate;
  in.mail = {{"duplicated", "m1", "bob@remote", "delivered 2 times"}};
  Evidence e;
  DeriveEvidence(in, nullptr, &e);
  EXPECT_EQ(e.root_cause,
            "duplicated m1 to bob@remote: op 2 `unlink(\"queue/incoming/A\")` was not made "
            "durable before the crash; its directory `queue/incoming/` is never fsynced after it");
}

TEST(RootCause, TornWriteIsCalledTorn) {
  OpBuilder b(kRoot);
  b.OpenCreate("queue/incoming/A", 3, 7);
  b.Write(3, "queue/incoming/A", 7, "data");
  CauseInput in = Input(b.ops(), 3, {2});
  in.torn_seqs = {2};
  in.mail = {{"corrupted", "m1", "bob@remote", "body of 3 bytes"}};
  in.verdict = Verdict::kCorrupt;
  Evidence e;
  DeriveEvidence(in, nullptr, &e);
  EXPECT_EQ(e.culprit.role, "torn");
  EXPECT_NE(e.root_cause.find("corrupted copy of m1: op 2 `write("), std::string::npos);
  EXPECT_NE(e.root_cause.find("was torn by the crash"), std::string::npos);
  EXPECT_NE(e.root_cause.find("the file `queue/incoming/A` is never fsynced"), std::string::npos)
      << e.root_cause;
  EXPECT_TRUE(e.dropped_seqs.empty());
  EXPECT_EQ(e.torn_seqs, std::vector<uint64_t>{2});
}

TEST(Timeline, MarksTheCulpritTheAckTheCrashPointAndWhatCameAfter) {
  uint64_t line = 0;
  std::vector<Op> ops = CreateWithoutDirSync(&line);
  Evidence e;
  DeriveEvidence(Input(ops, 9, {2}), nullptr, &e);
  auto find = [&](uint64_t seq) -> const TimelineEntry* {
    for (const auto& t : e.timeline) {
      if (t.seq == seq) return &t;
    }
    return nullptr;
  };
  ASSERT_NE(find(2), nullptr);
  EXPECT_TRUE(find(2)->Has(kTimelineCulprit));
  EXPECT_TRUE(find(2)->Has(kTimelineDropped));
  EXPECT_EQ(find(2)->call, "open");
  EXPECT_EQ(find(2)->args, "\"queue/incoming/A\", O_WRONLY|O_CREAT, 0644");
  EXPECT_EQ(find(2)->result, "3");
  EXPECT_TRUE(find(7)->Has(kTimelineAck));
  EXPECT_EQ(find(7)->call, "mark ack");
  EXPECT_TRUE(find(8)->Has(kTimelineStep));
  EXPECT_TRUE(find(8)->Has(kTimelineAfterCrash) == false);
  EXPECT_TRUE(find(9)->Has(kTimelineAfterCrash));
  // The crash point is the last call before the crash (marks are not calls).
  EXPECT_TRUE(find(5)->Has(kTimelineCrashPoint));
  EXPECT_EQ(e.workload.size(), 2u);
  EXPECT_EQ(e.workload[0].what, "enqueue m1 alice@local bob@remote");
  EXPECT_EQ(e.workload[0].exit, "0");
  EXPECT_EQ(e.workload[1].seq, 8u);
}

TEST(Timeline, LongTracesKeepTheWindowAndTheMarkedOpsOnly) {
  OpBuilder b(kRoot);
  b.OpenCreate("queue/incoming/A", 3, 7);  // op 1, dropped
  for (int i = 0; i < 500; ++i) b.Close(50);
  b.Mark("ack", "m1 bob@remote");  // op 502
  for (int i = 0; i < 500; ++i) b.Close(50);
  Evidence e;
  DeriveEvidence(Input(b.ops(), 800, {1}), nullptr, &e);
  EXPECT_LE(e.timeline.size(), 2u * kTimelineContext + 3);
  EXPECT_EQ(e.timeline.front().seq, 1u);
  EXPECT_EQ(static_cast<int64_t>(e.timeline.size()) + e.timeline_omitted, 1002);
  bool has_ack = false;
  for (const auto& t : e.timeline) has_ack |= t.seq == 502 && t.Has(kTimelineAck);
  EXPECT_TRUE(has_ack);
}

TEST(RootCause, RootIsStrippedFromPathsButOtherPathsStay) {
  EXPECT_EQ(RelativeToRoot("/r/queue/A", "/r"), "queue/A");
  EXPECT_EQ(RelativeToRoot("/r", "/r"), ".");
  EXPECT_EQ(RelativeToRoot("/rx/A", "/r"), "/rx/A");
}

}  // namespace
}  // namespace aftershock

namespace aftershock {
namespace {

// The blame rule: m1 was acknowledged in queue/A; the crash drops a write of
// m2 (unacknowledged, another file) first and then the unlink that removed
// m1's only name. The loss of m1 is the unlink's, never m2's write's.
std::vector<Op> TwoMessagesAndAnEarlyUnlink() {
  OpBuilder b(kRoot);
  b.Mark("step", "enqueue m1");
  b.OpenCreate("queue/A", 3, 7);
  b.Write(3, "queue/A", 7, "Message-ID: <1@x>\nX-Aftershock-Id: m1\n\nbody\n");  // seq 3
  b.Fsync(3, "queue/A", 7);
  b.Close(3);
  b.Mark("ack", "m1 bob@remote");
  b.Mark("step", "enqueue m2");
  b.OpenCreate("queue/B", 4, 8);
  b.Write(4, "queue/B", 8, "Message-ID: <2@x>\nX-Aftershock-Id: m2\n\nbody\n");  // seq 10
  b.Mark("step", "restart");
  b.Unlink("queue/A");  // seq 12
  b.Close(4);
  return b.ops();
}

uint64_t SeqOf(const std::vector<Op>& ops, OpKind kind, const std::string& rel) {
  for (const Op& op : ops) {
    if (op.kind == kind && op.path == std::string(kRoot) + "/" + rel) return op.seq;
  }
  ADD_FAILURE() << "no such op: " << rel;
  return 0;
}

TEST(Blame, TheCulpritIsAnOpOnTheLostMessagesOwnFile) {
  std::vector<Op> ops = TwoMessagesAndAnEarlyUnlink();
  const uint64_t write_m2 = SeqOf(ops, OpKind::kWrite, "queue/B");
  const uint64_t unlink_m1 = SeqOf(ops, OpKind::kUnlink, "queue/A");
  ASSERT_LT(write_m2, unlink_m1);
  Evidence e;
  DeriveEvidence(Input(ops, ops.back().seq + 1, {write_m2, unlink_m1}), nullptr, &e);
  ASSERT_TRUE(e.culprit.known);
  EXPECT_EQ(e.culprit.seq, unlink_m1) << e.root_cause;
  // Grouping applies the same rule (crash_cause.h).
  MessageFiles files;
  for (const Op& op : ops) files.Add(op);
  auto paths = [&](uint64_t seq) {
    for (const Op& op : ops) {
      if (op.seq == seq) return std::make_pair(op.path, op.path2);
    }
    return std::make_pair(std::string(), std::string());
  };
  EXPECT_EQ(BlamedSeq({write_m2, unlink_m1}, files, "m1", paths), unlink_m1);
  EXPECT_EQ(BlamedSeq({write_m2, unlink_m1}, files, "m2", paths), write_m2);
  // Where m1 lived is known and no dropped op touches it: the crash point.
  EXPECT_EQ(BlamedSeq({write_m2}, files, "m1", paths), std::nullopt);
  // Nothing known of the message: the first dropped op, as before.
  EXPECT_EQ(BlamedSeq({write_m2, unlink_m1}, files, "m9", paths), write_m2);
}

TEST(Blame, ARenameOrLinkCarriesTheMessageToItsNewName) {
  OpBuilder b(kRoot);
  b.OpenCreate("incoming/A", 3, 7);
  b.Write(3, "incoming/A", 7, "X-Aftershock-Id: m1\n\nbody\n");
  b.Rename("incoming/A", "active/A");
  MessageFiles files;
  for (const Op& op : b.ops()) files.Add(op);
  ASSERT_NE(files.PathsOf("m1"), nullptr);
  EXPECT_EQ(files.PathsOf("m1")->count(std::string(kRoot) + "/active/A"), 1u);
  EXPECT_EQ(files.PathsOf("m1")->count(std::string(kRoot) + "/incoming/A"), 1u);
  EXPECT_EQ(files.PathsOf("m2"), nullptr);
}

// A fan-out that removes its work file before the output that replaces it
// is finished; killed while writing that output.
std::vector<Op> UnlinkBeforeTheOutputIsFinished() {
  OpBuilder b(kRoot);
  b.Mark("step", "enqueue m1");
  b.OpenCreate("incoming/A", 3, 7);
  b.Write(3, "incoming/A", 7, "X-Aftershock-Id: m1\n\nbody\n");
  b.Fsync(3, "incoming/A", 7);
  b.Close(3);
  b.Mark("ack", "m1 bob@remote");
  b.Mark("step", "restart");
  b.Unlink("incoming/A");
  b.OpenCreate("out/A", 4, 8);
  b.Write(4, "out/A", 8, "X-Aftershock-Id: m1\n\nbody\n");
  return b.ops();
}

TEST(Blame, TheRemovalOfTheLastUnfinishedCopyIsBlamedBeforeTheCrashPoint) {
  std::vector<Op> ops = UnlinkBeforeTheOutputIsFinished();
  const uint64_t unlink = SeqOf(ops, OpKind::kUnlink, "incoming/A");
  const uint64_t crash = ops.back().seq + 1;
  EXPECT_EQ(RemovedLastCopy(ops, crash, "m1"), unlink);
  EXPECT_EQ(RemovedLastCopy(ops, crash, "m2"), std::nullopt);
  Evidence e;
  DeriveEvidence(Input(ops, crash - 1, {}), nullptr, &e);  // killed before the last write
  ASSERT_TRUE(e.culprit.known);
  EXPECT_EQ(e.culprit.seq, unlink);
  EXPECT_EQ(e.culprit.role, "removed");
  EXPECT_NE(e.root_cause.find("`unlink(\"incoming/A\")` removed the last name of it"),
            std::string::npos)
      << e.root_cause;
  EXPECT_NE(e.root_cause.find("killed right after op"), std::string::npos) << e.root_cause;
}

TEST(Blame, ARemovalAfterAFinishedCopyIsNotBlamed) {
  OpBuilder b(kRoot);
  b.OpenCreate("incoming/A", 3, 7);
  b.Write(3, "incoming/A", 7, "X-Aftershock-Id: m1\n\nbody\n");
  b.Close(3);
  b.OpenCreate("out/A", 4, 8);
  b.Write(4, "out/A", 8, "X-Aftershock-Id: m1\n\nbody\n");
  b.Fsync(4, "out/A", 8);  // the output is finished before the work file goes
  b.Unlink("incoming/A");
  b.Write(4, "out/A", 8, "D");
  EXPECT_EQ(RemovedLastCopy(b.ops(), b.ops().back().seq + 1, "m1"), std::nullopt);
  // A finished copy made after the removal clears it too.
  std::vector<Op> ops = UnlinkBeforeTheOutputIsFinished();
  EXPECT_NE(RemovedLastCopy(ops, ops.back().seq + 1, "m1"), std::nullopt);
  Op close = ops.back();
  close.kind = OpKind::kClose;
  close.seq = ops.back().seq + 1;
  close.data.clear();
  ops.push_back(close);
  EXPECT_EQ(RemovedLastCopy(ops, ops.back().seq + 1, "m1"), std::nullopt);
}

}  // namespace
}  // namespace aftershock
