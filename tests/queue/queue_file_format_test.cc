// The file format and its validation: only a whole, untorn file is accepted.
#include "queue_file_format.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace refqueue {
namespace {

QueueFile SampleFile() {
  QueueFile file;
  file.created_s = 1700000000;
  file.id = "m17";
  file.fanout = Fanout::kHardlink;
  file.outputs = {"local", "remote"};
  file.recipients = {{"alice@local", RcptStatus::kPending, 0},
                     {"bob@remote", RcptStatus::kDone, 0}};
  file.content = "Subject: hi\n\nbody\n";
  return file;
}

std::string SampleBytes() {
  QueueFile file = SampleFile();
  return Encode(&file);
}

TEST(QueueFileFormat, EncodedFileDecodesToTheSameFields) {
  QueueFile file = SampleFile();
  std::string bytes = Encode(&file);
  QueueFile decoded;
  ASSERT_TRUE(Decode(bytes, &decoded).ok());
  EXPECT_EQ(decoded.created_s, 1700000000);
  EXPECT_EQ(decoded.id, "m17");
  EXPECT_EQ(decoded.fanout, Fanout::kHardlink);
  EXPECT_EQ(decoded.outputs, file.outputs);
  ASSERT_EQ(decoded.recipients.size(), 2u);
  EXPECT_EQ(decoded.recipients[1].address, "bob@remote");
  EXPECT_EQ(decoded.recipients[1].status, RcptStatus::kDone);
  EXPECT_EQ(decoded.recipients[0].status_offset, file.recipients[0].status_offset);
  EXPECT_EQ(decoded.content, file.content);
}

TEST(QueueFileFormat, StatusOffsetPointsAtTheStatusByte) {
  QueueFile file = SampleFile();
  std::string bytes = Encode(&file);
  EXPECT_EQ(bytes[file.recipients[0].status_offset], 'P');
  EXPECT_EQ(bytes[file.recipients[1].status_offset], 'D');
}

TEST(QueueFileFormat, DoneMarkInPlaceKeepsTheFileValid) {
  QueueFile file = SampleFile();
  std::string bytes = Encode(&file);
  bytes[file.recipients[0].status_offset] = 'D';
  QueueFile decoded;
  ASSERT_TRUE(Decode(bytes, &decoded).ok());
  EXPECT_EQ(decoded.recipients[0].status, RcptStatus::kDone);
}

TEST(QueueFileFormat, EveryTruncationIsRejected) {
  std::string bytes = SampleBytes();
  for (size_t size = 0; size < bytes.size(); ++size) {
    QueueFile decoded;
    Status status = Decode(std::string_view(bytes).substr(0, size), &decoded);
    EXPECT_TRUE(status.IsInvalid()) << "accepted a file cut at " << size;
  }
}

TEST(QueueFileFormat, ZeroFilledTailIsRejected) {
  // An append that reached the size but not the data: zeros to the end.
  std::string bytes = SampleBytes();
  for (size_t from = 0; from < bytes.size(); ++from) {
    std::string torn = bytes.substr(0, from) + std::string(bytes.size() - from, '\0');
    QueueFile decoded;
    EXPECT_TRUE(Decode(torn, &decoded).IsInvalid()) << "zeros from " << from;
  }
}

TEST(QueueFileFormat, AllZeroFileIsRejected) {
  QueueFile decoded;
  EXPECT_TRUE(Decode(std::string(4096, '\0'), &decoded).IsInvalid());
}

TEST(QueueFileFormat, EverySingleBitFlipIsRejected) {
  // Status bytes too: 'P' and 'D' are two bits apart, so one flip cannot turn
  // a pending recipient into a done one.
  std::string bytes = SampleBytes();
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    QueueFile decoded;
    EXPECT_TRUE(Decode(flipped, &decoded).IsInvalid()) << "bit " << bit;
  }
}

TEST(QueueFileFormat, TornSectorFromAnotherMessageIsRejected) {
  // A torn write that kept the old content of one region: two messages of the
  // same layout spliced together.
  QueueFile other = SampleFile();
  other.created_s += 1;                     // differs in the first half
  other.content = "Subject: ho\n\nbody\n";  // and in the second
  std::string bytes = SampleBytes();
  std::string other_bytes = Encode(&other);
  ASSERT_EQ(bytes.size(), other_bytes.size());
  for (size_t cut = 0; cut <= bytes.size(); cut += 8) {
    std::string spliced = bytes.substr(0, cut) + other_bytes.substr(cut);
    if (spliced == bytes || spliced == other_bytes) continue;
    QueueFile decoded;
    EXPECT_TRUE(Decode(spliced, &decoded).IsInvalid()) << "cut at " << cut;
  }
}

TEST(QueueFileFormat, TrailingBytesAreRejected) {
  QueueFile decoded;
  EXPECT_TRUE(Decode(SampleBytes() + "x", &decoded).IsInvalid());
}

TEST(QueueFileFormat, FileWithoutRecipientsIsRejected) {
  QueueFile file = SampleFile();
  file.recipients.clear();
  QueueFile decoded;
  EXPECT_TRUE(Decode(Encode(&file), &decoded).IsInvalid());
}

TEST(QueueFileFormat, MessageIdsThatCannotBeFileNamesAreInvalid) {
  EXPECT_TRUE(IsValidId("m17"));
  EXPECT_TRUE(IsValidId("a.b-c_d@e+f"));
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId(".hidden"));
  EXPECT_FALSE(IsValidId("a/b"));
  EXPECT_FALSE(IsValidId(std::string(129, 'a')));
}

RC_GTEST_PROP(QueueFileFormat, AnyValidFileRoundTrips, ()) {
  QueueFile file;
  file.created_s = *rc::gen::inRange<int64_t>(0, int64_t{1} << 40);
  file.id = "m" + std::to_string(*rc::gen::inRange(0, 100000));
  file.fanout = *rc::gen::element(Fanout::kWorkfile, Fanout::kHardlink);
  const auto n_rcpts = *rc::gen::inRange<size_t>(1, 20);
  for (size_t i = 0; i < n_rcpts; ++i) {
    auto status = *rc::gen::element(RcptStatus::kPending, RcptStatus::kDone);
    file.recipients.push_back({"u" + std::to_string(i) + "@local", status, 0});
  }
  file.content = *rc::gen::arbitrary<std::string>();
  std::string bytes = Encode(&file);
  QueueFile decoded;
  RC_ASSERT(Decode(bytes, &decoded).ok());
  RC_ASSERT(decoded.content == file.content);
  RC_ASSERT(decoded.recipients.size() == file.recipients.size());
  for (size_t i = 0; i < n_rcpts; ++i) {
    RC_ASSERT(decoded.recipients[i].status == file.recipients[i].status);
    RC_ASSERT(decoded.recipients[i].status_offset == file.recipients[i].status_offset);
  }
}

RC_GTEST_PROP(QueueFileFormat, AnyCorruptedByteIsRejected, ()) {
  std::string bytes = SampleBytes();
  const auto pos = *rc::gen::inRange<size_t>(0, bytes.size());
  const auto value = *rc::gen::arbitrary<unsigned char>();
  RC_PRE(static_cast<unsigned char>(bytes[pos]) != value);
  // Rewriting a status byte between its two valid values is a done mark.
  RC_PRE(!(bytes[pos] == 'P' || bytes[pos] == 'D') || (value != 'P' && value != 'D'));
  bytes[pos] = static_cast<char>(value);
  QueueFile decoded;
  RC_ASSERT(Decode(bytes, &decoded).IsInvalid());
}

}  // namespace
}  // namespace refqueue
