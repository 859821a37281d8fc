// Reading mbox files (harness/mailbox.h) as delivery agents write them.
#include "harness/target/mailbox.h"

#include <gtest/gtest.h>

namespace aftershock {
namespace {

const std::string kA = "Message-ID: <a>\nX-Aftershock-Id: a\n\nline one\n";
const std::string kB = "Message-ID: <b>\nX-Aftershock-Id: b\n\nFrom me\n>From you\nend\n";

TEST(Mbox, MessagesAreSplitAtFromLinesAndLoseTheirSeparator) {
  const std::string first = "From x@y  Mon Jan  1 00:00:00 2024\n";
  std::string mbox = first + kA + "\n" + "From z@y  Mon Jan  1 00:00:01 2024\n" + kA + "\n";
  std::vector<MboxMessage> m = SplitMbox(mbox);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].from_line, "From x@y  Mon Jan  1 00:00:00 2024");
  EXPECT_EQ(m[0].bytes, kA);
  EXPECT_EQ(m[0].offset, 0u);
  EXPECT_TRUE(m[0].terminated);
  EXPECT_EQ(m[1].bytes, kA);
  EXPECT_EQ(m[1].offset, first.size() + kA.size() + 1);
  EXPECT_TRUE(m[1].terminated);
  EXPECT_EQ(MboxNormalizations(m[1]), std::vector<std::string>{"mbox From_ line"});
}

TEST(Mbox, QuotedFromLinesAreUnquotedOnce) {
  std::string quoted = "Message-ID: <b>\nX-Aftershock-Id: b\n\n>From me\n>>From you\nend\n";
  std::vector<MboxMessage> m = SplitMbox("From x  date\n" + quoted + "\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes, kB);
  EXPECT_EQ(m[0].unquoted, 2);
  EXPECT_EQ(MboxNormalizations(m[0]),
            (std::vector<std::string>{"mbox From_ line", "mbox >From unquoted"}));
}

TEST(Mbox, FromInsideALineOrWithoutABlankLineBeforeIsNotASeparator) {
  std::string body = "Message-ID: <c>\n\nsay From here\n>From there\n";
  std::vector<MboxMessage> m = SplitMbox("From x  date\n" + body + "\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes, "Message-ID: <c>\n\nsay From here\nFrom there\n");
}

TEST(Mbox, TornLastMessageKeepsItsBytesAndIsUnterminated) {
  std::string mbox = "From x  d\n" + kA + "\nFrom x  d\n" + kA.substr(0, 20);
  std::vector<MboxMessage> m = SplitMbox(mbox);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[0].terminated);
  EXPECT_EQ(m[1].bytes, kA.substr(0, 20));
  EXPECT_FALSE(m[1].terminated);
}

TEST(Mbox, LastMessageWithoutItsSeparatorKeepsEveryByte) {
  std::vector<MboxMessage> m = SplitMbox("From x  d\n" + kA);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes, kA);
  EXPECT_FALSE(m[0].terminated);
}

TEST(Mbox, FromLineCutShortIsAnEmptyUnterminatedMessage) {
  for (std::string cut : {"F", "Fro", "From", "From x@y  Mon"}) {
    std::vector<MboxMessage> m = SplitMbox("From x  d\n" + kA + "\n" + cut);
    ASSERT_EQ(m.size(), 2u) << cut;
    EXPECT_EQ(m[0].bytes, kA) << cut;
    EXPECT_EQ(m[1].bytes, "") << cut;
    EXPECT_FALSE(m[1].terminated) << cut;
  }
  std::vector<MboxMessage> alone = SplitMbox("Fr");
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0].from_line, "Fr");
}

TEST(Mbox, BytesBeforeTheFirstFromLineComeBackAsTheyAre) {
  std::vector<MboxMessage> m = SplitMbox(std::string(8, '\0') + "\n\nFrom x  d\n" + kA + "\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].from_line, "");
  EXPECT_EQ(m[0].bytes, std::string(8, '\0') + "\n\n");
  EXPECT_TRUE(m[0].terminated);
  EXPECT_TRUE(MboxNormalizations(m[0]).empty());
  EXPECT_EQ(m[1].bytes, kA);
  std::vector<MboxMessage> zeros = SplitMbox(std::string(512, '\0'));
  ASSERT_EQ(zeros.size(), 1u);
  EXPECT_FALSE(zeros[0].terminated);
}

TEST(Mbox, EmptyFileHoldsNoMessage) { EXPECT_TRUE(SplitMbox("").empty()); }

TEST(Mbox, MessageWithAnEmptyBodyKeepsItsHeaderEnd) {
  std::string empty_body = "Message-ID: <d>\n\n";
  std::vector<MboxMessage> m = SplitMbox("From x  d\n" + empty_body + "\nFrom x  d\n" + kA + "\n");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].bytes, empty_body);
}

}  // namespace
}  // namespace aftershock
