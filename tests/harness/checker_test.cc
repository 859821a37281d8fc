// The checker's verdicts on hand-made inputs, and the message format the
// checker relies on.
#include "harness/check/checker.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "harness/target/message.h"

namespace aftershock {
namespace {

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    messages_["m1"] = {"m1", {"alice@local", "bob@remote"}, 100};
    messages_["m2"] = {"m2", {"carol@local"}, 0};
    input_.messages = &messages_;
  }
  std::string Copy(const std::string& id) {
    const Submitted& m = messages_.at(id);
    return ComposeMessage(id, m.rcpts, m.body_size);
  }
  void Deliver(const std::string& id, std::vector<std::string> rcpts) {
    input_.deliveries.push_back({std::move(rcpts), Copy(id), "test"});
  }
  void AckAll(const std::string& id) {
    for (const auto& r : messages_.at(id).rcpts) input_.acked.emplace(id, r);
  }
  std::map<std::string, Submitted> messages_;
  CheckInput input_;
};

TEST_F(CheckerTest, EveryAckedPairDeliveredOnceIsOk) {
  AckAll("m1");
  Deliver("m1", {"alice@local", "bob@remote"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_FALSE(r.has_duplicate);
}

TEST_F(CheckerTest, NothingAckedNothingDeliveredIsOk) {
  EXPECT_EQ(Check(input_).verdict, Verdict::kOk);
}

TEST_F(CheckerTest, AckedPairNeverDeliveredIsLost) {
  AckAll("m1");
  Deliver("m1", {"alice@local"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kLost);
  EXPECT_EQ(r.detail, "lost m1 -> bob@remote");
  EXPECT_EQ(r.lost_pairs, 1);
}

TEST_F(CheckerTest, PairDeliveredTwiceIsDuplicate) {
  AckAll("m1");
  Deliver("m1", {"alice@local", "bob@remote"});
  Deliver("m1", {"bob@remote"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kDuplicate);
  EXPECT_TRUE(r.has_duplicate);
  EXPECT_EQ(r.duplicate_pairs, 1);
}

TEST_F(CheckerTest, UnackedMessageDeliveredIntactIsUnackedDelivered) {
  Deliver("m2", {"carol@local"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kUnackedDelivered);
}

TEST_F(CheckerTest, ChangedBodyIsCorrupt) {
  AckAll("m2");
  std::string copy = Copy("m2") + "x";
  input_.deliveries.push_back({{"carol@local"}, copy, "test"});
  CheckResult r = Check(input_);
  // The only copy is corrupt, so the pair is also lost; lost is more severe.
  EXPECT_EQ(r.verdict, Verdict::kLost);
  input_.acked.clear();
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST_F(CheckerTest, TruncatedCopyOfUnackedMessageIsCorrupt) {
  std::string copy = Copy("m1");
  copy.resize(copy.size() - 10);
  input_.deliveries.push_back({{"alice@local"}, copy, "test"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST_F(CheckerTest, AddedHeadersAreAllowed) {
  AckAll("m2");
  input_.deliveries.push_back(
      {{"carol@local"}, "Received: from x\nDelivered-To: carol@local\n" + Copy("m2"), "test"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kOk);
}

TEST_F(CheckerTest, CopyMissingItsFinalNewlineIsCorruptAndSaysWhere) {
  std::string copy = Copy("m1");
  copy.pop_back();  // what a crash between the last two bytes leaves
  input_.deliveries.push_back({{"alice@local"}, copy, "Maildir/new/1"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kCorrupt);
  EXPECT_NE(r.detail.find("line 7: got \""), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("(no newline)"), std::string::npos) << r.detail;
}

TEST_F(CheckerTest, CopyWithAChangedBodyByteIsCorruptAndShowsTheLine) {
  std::string copy = Copy("m1");
  copy[copy.size() - 5] = 'A';
  input_.deliveries.push_back({{"alice@local"}, copy, "Maildir/new/1"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kCorrupt);
  EXPECT_NE(r.detail.find("corrupt copy of m1 (Maildir/new/1): line 7: got \""), std::string::npos)
      << r.detail;
  EXPECT_EQ(r.normalized_copies, 0);
}

TEST_F(CheckerTest, TornCopyWithZerosAfterAnIdIsCorrupt) {
  std::string copy = Copy("m1");
  std::fill(copy.begin() + 100, copy.end(), '\0');
  input_.deliveries.push_back({{"alice@local"}, copy, "Maildir/new/1"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kCorrupt);
  EXPECT_NE(r.detail.find("\\x00"), std::string::npos) << r.detail;
}

TEST_F(CheckerTest, CopyAppendingAFinalNewlineIsCorrupt) {
  // What a Debian agent does to a body cut mid-line: harness bodies never
  // are, so any added byte is a difference.
  input_.deliveries.push_back({{"alice@local"}, Copy("m1") + "\n", "Maildir/new/1"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kCorrupt);
  EXPECT_NE(r.detail.find("expected end of message"), std::string::npos) << r.detail;
}

TEST_F(CheckerTest, PrependedTraceHeadersAreNormalized) {
  AckAll("m1");
  std::string trace =
      "Return-Path: <sender@remote>\nDelivered-To: alice@local\n"
      "Received: from relay (relay [192.0.2.1])\n\tby mx; Mon, 1 Jan 2024 00:00:00 +0000\n"
      "X-Original-To: alice@local\n";
  input_.deliveries.push_back({{"alice@local", "bob@remote"}, trace + Copy("m1"), "t"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_EQ(r.normalized_copies, 1);
  EXPECT_EQ(r.normalized,
            (std::vector<std::string>{"trace header Delivered-To", "trace header Received",
                                      "trace header Return-Path", "trace header X-Original-To"}));
}

TEST_F(CheckerTest, AnExactCopyIsNotNormalized) {
  AckAll("m1");
  Deliver("m1", {"alice@local", "bob@remote"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_EQ(r.normalized_copies, 0);
  EXPECT_TRUE(r.normalized.empty());
}

TEST_F(CheckerTest, OtherPrependedHeaderIsCorrupt) {
  input_.deliveries.push_back({{"alice@local"}, "X-Spam: yes\n" + Copy("m1"), "t"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kCorrupt);
  EXPECT_NE(r.detail.find("line 1: got \"X-Spam: yes\", expected \"Message-ID: <m1@"),
            std::string::npos)
      << r.detail;
}

TEST_F(CheckerTest, TraceHeaderAfterTheHarnessHeadersIsCorrupt) {
  std::string copy = Copy("m1");
  copy.insert(copy.find("Subject:"), "Received: from x\n");
  input_.deliveries.push_back({{"alice@local"}, copy, "t"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST_F(CheckerTest, MboxFramingTakenOffByTheReaderIsNormalized) {
  AckAll("m1");
  DeliveredCopy d{{"alice@local", "bob@remote"}, Copy("m1"), "mbox at byte 0"};
  d.normalized = {"mbox From_ line", "mbox >From unquoted"};
  input_.deliveries.push_back(d);
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_EQ(r.normalized, (std::vector<std::string>{"mbox >From unquoted", "mbox From_ line"}));
}

TEST_F(CheckerTest, MboxEmptyLastLineTakenAsTheSeparatorIsNormalized) {
  // m2 has an empty body: its message ends in an empty line, which procmail
  // lets serve as the separator, so the mbox reader takes it off.
  AckAll("m2");
  std::string copy = Copy("m2");
  copy.pop_back();
  DeliveredCopy d{{"carol@local"}, copy, "mbox at byte 0"};
  input_.deliveries.push_back(d);
  EXPECT_EQ(Check(input_).verdict, Verdict::kLost);  // not read from an mbox: corrupt
  input_.deliveries[0].closed_by_empty_line = true;
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.detail;
  EXPECT_EQ(r.normalized, std::vector<std::string>{"mbox empty last line read as the separator"});
}

TEST_F(CheckerTest, MboxCopyMissingALastLineThatIsNotEmptyIsCorrupt) {
  std::string copy = Copy("m1");
  copy.pop_back();
  DeliveredCopy d{{"alice@local"}, copy, "mbox at byte 0"};
  d.closed_by_empty_line = true;
  input_.deliveries.push_back(d);
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST_F(CheckerTest, InterruptedMboxAppendOfAnUnackedMessageIsNotACopy) {
  std::string copy = Copy("m1");
  copy.resize(50);
  DeliveredCopy d{{}, copy, "mbox at byte 0"};
  d.mbox_tail = "From x  d\n" + copy;
  input_.deliveries.push_back(d);
  EXPECT_EQ(Check(input_).verdict, Verdict::kOk);
  // Acknowledged, the same bytes are a damaged copy (and the pair is lost).
  AckAll("m1");
  input_.acked.erase({"m1", "bob@remote"});
  input_.deliveries.push_back({{"bob@remote"}, Copy("m1"), "t"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kLost);
  input_.acked.clear();
  input_.acked.emplace("m1", "bob@remote");
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST_F(CheckerTest, InterruptedMboxAppendWithHolesIsNotACopy) {
  // Un-synced writes dropped one by one: the From_ line's first byte, or
  // everything but it.
  std::string whole = "From x  d\n" + Copy("m1") + "\n";
  std::string hole = whole;
  hole[0] = '\0';
  std::string only_f = "F" + std::string(whole.size() - 2, '\0') + "\n";
  for (const std::string& tail : {hole, only_f}) {
    DeliveredCopy d{{}, tail, "mbox at byte 0"};
    d.mbox_tail = tail;
    input_.deliveries = {d};
    EXPECT_EQ(Check(input_).verdict, Verdict::kOk) << Check(input_).detail;
    EXPECT_TRUE(IsInterruptedAppend(d, input_));
  }
  // Not the tail of the mbox: a damaged message between others.
  input_.deliveries[0].mbox_tail.clear();
  EXPECT_EQ(Check(input_).verdict, Verdict::kPhantom);
}

TEST_F(CheckerTest, CompleteUnackedMboxTailIsDelivered) {
  DeliveredCopy d{{}, Copy("m1"), "mbox at byte 0"};
  d.mbox_tail = "From x  d\n" + Copy("m1") + "\n";
  input_.deliveries.push_back(d);
  EXPECT_EQ(Check(input_).verdict, Verdict::kUnackedDelivered);
  EXPECT_FALSE(IsInterruptedAppend(d, input_));
}

TEST_F(CheckerTest, FinishedMboxMessageIsJudgedEvenIfUnacked) {
  std::string copy = Copy("m1");
  copy.resize(50);
  input_.deliveries.push_back({{}, copy, "mbox at byte 0"});  // terminated, yet torn
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST(CopyMatch, FoldedTraceHeaderCutShortIsNotTakenOff) {
  std::string message = ComposeMessage("m1", {"a@b"}, 70);
  CopyMatch m = MatchCopy("Received: from x\n\tby y", message);
  EXPECT_FALSE(m.intact);
  EXPECT_TRUE(m.normalized.empty());
}

// What Postfix's cleanup(8) does to a message without Date: and From:.
TEST(CopyMatch, SubmissionFieldsAddedAfterTheHeadersAreNormalized) {
  std::string message = ComposeMessage("m1", {"a@b"}, 70);
  size_t blank = message.find("\n\n");
  std::string copy = "Received: by mx\n\tid 1\n" + message.substr(0, blank + 1) +
                     "Date: Mon,  7 Dec 2026 00:59:37 +0000 (UTC)\nFrom: root <s@r>\n" +
                     message.substr(blank + 1);
  CopyMatch m = MatchCopy(copy, message);
  EXPECT_TRUE(m.intact) << m.difference;
  EXPECT_EQ(m.normalized, (std::vector<std::string>{"trace header Received", "added header Date",
                                                     "added header From"}));
}

TEST(CopyMatch, OnlyMissingSubmissionFieldsMayBeAdded) {
  std::string message = ComposeMessage("m1", {"a@b"}, 70);
  size_t blank = message.find("\n\n");
  auto with = [&](const std::string& fields) {
    return message.substr(0, blank + 1) + fields + message.substr(blank + 1);
  };
  // A field that is not a submission server's, or one the message has.
  EXPECT_FALSE(MatchCopy(with("X-Spam: yes\n"), message).intact);
  EXPECT_FALSE(MatchCopy(with("Message-ID: <other@x>\n"), message).intact);
  // Added anywhere but after the message's own fields.
  EXPECT_FALSE(MatchCopy("Date: x\n" + message, message).intact);
  // The body still has to match byte for byte.
  std::string torn = with("Date: x\n");
  torn.pop_back();
  EXPECT_FALSE(MatchCopy(torn, message).intact);
}

TEST(CopyMatch, TraceFieldNamesAreCaseInsensitiveAndKnown) {
  EXPECT_TRUE(IsTraceFieldName("return-path"));
  EXPECT_TRUE(IsTraceFieldName("Resent-Message-ID"));
  EXPECT_FALSE(IsTraceFieldName("Subject"));
  EXPECT_FALSE(IsTraceFieldName("X-Aftershock-Id"));
}

TEST_F(CheckerTest, CopyOfUnknownMessageIsPhantom) {
  input_.deliveries.push_back({{"alice@local"}, ComposeMessage("m9", {"alice@local"}, 3), "t"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kPhantom);
}

TEST_F(CheckerTest, EmptyOrZeroFilledCopyIsCorrupt) {
  input_.deliveries.push_back({{"alice@local"}, "", "Maildir/new/1"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
  input_.deliveries[0].copy = std::string(512, '\0');
  EXPECT_EQ(Check(input_).verdict, Verdict::kCorrupt);
}

TEST_F(CheckerTest, CopyWithItsFirstSectorZeroedIsCorrupt) {
  std::string copy = Copy("m1");
  std::fill(copy.begin(), copy.begin() + 40, '\0');
  input_.deliveries.push_back({{"alice@local"}, copy, "Maildir/new/1"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kCorrupt);
  EXPECT_NE(r.detail.find("torn copy of m1"), std::string::npos) << r.detail;
}

TEST_F(CheckerTest, CopyWithoutIdIsPhantom) {
  input_.deliveries.push_back({{"alice@local"}, "Subject: hi\n\nbody", "t"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kPhantom);
}

TEST_F(CheckerTest, CopyOfAMessageNotYetSubmittedIsPhantom) {
  std::set<std::string> submitted = {"m1"};
  input_.submitted = &submitted;
  Deliver("m2", {"carol@local"});
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kPhantom);
  EXPECT_NE(r.detail.find("had not started"), std::string::npos) << r.detail;
}

TEST_F(CheckerTest, CopyToSomeoneElseIsPhantom) {
  AckAll("m2");
  Deliver("m2", {"carol@local", "mallory@remote"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kPhantom);
}

TEST_F(CheckerTest, RecoveryFailureOutranksEverything) {
  AckAll("m1");
  input_.recovery_failure = "recover timed out after 1 s";
  CheckResult r = Check(input_);
  EXPECT_EQ(r.verdict, Verdict::kRecoveryFailed);
  EXPECT_EQ(r.detail, "recover timed out after 1 s");
}

TEST_F(CheckerTest, SharedMailboxCopyCountsForEveryRecipient) {
  AckAll("m1");
  input_.deliveries.push_back({{}, Copy("m1"), "Maildir/new/1"});
  EXPECT_EQ(Check(input_).verdict, Verdict::kOk);
}

TEST(Verdicts, ViolationsAreExactlyTheForbiddenOnes) {
  EXPECT_FALSE(IsViolation(Verdict::kOk));
  EXPECT_FALSE(IsViolation(Verdict::kDuplicate));
  EXPECT_FALSE(IsViolation(Verdict::kUnackedDelivered));
  EXPECT_TRUE(IsViolation(Verdict::kLost));
  EXPECT_TRUE(IsViolation(Verdict::kCorrupt));
  EXPECT_TRUE(IsViolation(Verdict::kPhantom));
  EXPECT_TRUE(IsViolation(Verdict::kRecoveryFailed));
  for (int i = 0; i < kVerdictCount; ++i) {
    EXPECT_EQ(ParseVerdict(kVerdictNames[i]), static_cast<Verdict>(i));
  }
}

TEST(Message, ComposedMessageHasTheContractHeaders) {
  EXPECT_EQ(ComposeMessage("m17", {"alice@local", "bob@remote"}, 0),
            "Message-ID: <m17@aftershock.invalid>\nX-Aftershock-Id: m17\n"
            "To: alice@local, bob@remote\nSubject: aftershock m17\n\n");
}

RC_GTEST_PROP(Message, BodyHasExactlyTheRequestedSizeAndParsesBack, ()) {
  uint64_t size = *rc::gen::inRange<uint64_t>(0, 20000);
  std::string id = "m" + std::to_string(*rc::gen::inRange(1, 1000));
  std::string body = MessageBody(id, size);
  RC_ASSERT(body.size() == size);
  RC_ASSERT(body == MessageBody(id, size));
  ParsedCopy p = ParseCopy(ComposeMessage(id, {"a@b"}, size));
  RC_ASSERT(p.id == id);
  RC_ASSERT(p.body == body);
}

RC_GTEST_PROP(Message, EveryLineEndsInANewlineAndFitsRfc5322, ()) {
  uint64_t size = *rc::gen::inRange<uint64_t>(1, 5000);
  std::string body = MessageBody("m" + std::to_string(size), size);
  RC_ASSERT(body.back() == '\n');
  size_t start = 0;
  for (size_t nl = body.find('\n'); nl != std::string::npos; nl = body.find('\n', start)) {
    RC_ASSERT(nl - start + 1 <= kBodyLineBytes);
    RC_ASSERT(body.compare(start, 5, "From ") != 0);
    start = nl + 1;
  }
  RC_ASSERT(start == body.size());
}

TEST(Message, BodyNotAMultipleOfALineEndsInAShortLine) {
  std::string body = MessageBody("m1", 196);
  ASSERT_EQ(body.size(), 196u);
  EXPECT_EQ(body.substr(192), std::string(body.substr(192, 3)) + "\n");
  EXPECT_EQ(body[191], '\n');
  EXPECT_EQ(MessageBody("m1", 1), "\n");
}

TEST(Message, BodiesOfDifferentMessagesDiffer) {
  EXPECT_NE(MessageBody("m1", 64), MessageBody("m2", 64));
}

TEST(Message, ShellQuoteSurvivesQuotes) { EXPECT_EQ(ShellQuote("a'b"), "'a'\\''b'"); }

}  // namespace
}  // namespace aftershock
