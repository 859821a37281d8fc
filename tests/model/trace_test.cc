#include "model/trace.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace aftershock {
namespace {

std::string TempPath(const char* name) {
  std::string dir = ::testing::TempDir();
  return dir + "/" + name + "." + std::to_string(::getpid());
}

Op SampleWrite(uint64_t seq, std::string data) {
  Op op;
  op.kind = OpKind::kWrite;
  op.seq = seq;
  op.pid = 7;
  op.tid = 7;
  op.fd = 3;
  op.offset = 10;
  op.length = data.size();
  op.result = static_cast<int64_t>(data.size());
  op.path = "/root/q/a";
  op.module = "/usr/lib/libc.so.6";
  op.data = std::move(data);
  return op;
}

TEST(Trace, WrittenRecordsReadBackInSeqOrder) {
  std::string path = TempPath("order.trace");
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.ok()) << w.Error();
    ASSERT_TRUE(w.Append(SampleWrite(2, "second")));
    ASSERT_TRUE(w.Append(SampleWrite(1, "first")));
  }
  TraceError err;
  auto t = ReadTrace(path, &err);
  ASSERT_TRUE(t) << err.message;
  ASSERT_EQ(t->ops.size(), 2u);
  EXPECT_EQ(t->ops[0].data, "first");
  EXPECT_EQ(t->ops[1].data, "second");
  EXPECT_EQ(t->ops[1].module, "/usr/lib/libc.so.6");
  ::unlink(path.c_str());
}

TEST(Trace, TruncatedTrailingRecordIsIgnored) {
  std::string path = TempPath("trunc.trace");
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(1, "kept")));
    ASSERT_TRUE(w.Append(SampleWrite(2, "cut short by a kill")));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(bytes.size() - 5)), 0);
  TraceReader r(path);
  ASSERT_TRUE(r.ok());
  auto first = r.Next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->data, "kept");
  EXPECT_FALSE(r.Next());
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.truncated_tail());
  ::unlink(path.c_str());
}

TEST(Trace, FlippedByteIsAChecksumErrorWithItsOffset) {
  std::string path = TempPath("flip.trace");
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(1, "payload")));
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(-2, std::ios::end);
  f.put('X');
  f.close();
  TraceError err;
  EXPECT_FALSE(ReadTrace(path, &err));
  EXPECT_NE(err.message.find("byte 32"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("checksum"), std::string::npos) << err.message;
  ::unlink(path.c_str());
}

// Reserves `size` bytes from the trace's tail, as a writer killed before it
// stored the record's magic leaves them: the magic zero, the rest garbage.
void ReserveHole(const std::string& path, size_t size) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  trace::FileHeader fh{};
  ASSERT_EQ(::pread(fd, &fh, sizeof fh, 0), static_cast<ssize_t>(sizeof fh));
  std::string hole(size, 'A');  // "AAAA" is not a record's magic
  hole.replace(0, 4, std::string(4, '\0'));
  ASSERT_EQ(::pwrite(fd, hole.data(), size, static_cast<off_t>(fh.tail)),
            static_cast<ssize_t>(size));
  fh.tail += size;
  ASSERT_EQ(::pwrite(fd, &fh, sizeof fh, 0), static_cast<ssize_t>(sizeof fh));
  ::close(fd);
}

TEST(Trace, AHoleLeftByAKilledWriterIsSkipped) {
  std::string path = TempPath("hole.trace");
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(1, "before")));
  }
  ReserveHole(path, 300);
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(3, "after")));
  }
  TraceReader r(path);
  auto first = r.Next();
  auto second = r.Next();
  ASSERT_TRUE(first && second) << r.Error();
  EXPECT_EQ(first->data, "before");
  EXPECT_EQ(second->data, "after");
  EXPECT_FALSE(r.Next());
  EXPECT_TRUE(r.ok()) << r.Error();
  EXPECT_EQ(r.holes(), 1);
  EXPECT_FALSE(r.truncated_tail());
  ::unlink(path.c_str());
}

TEST(Trace, AHoleAtTheEndIsATruncatedTail) {
  std::string path = TempPath("hole-end.trace");
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(1, "kept")));
  }
  ReserveHole(path, 200);
  TraceReader r(path);
  ASSERT_TRUE(r.Next());
  EXPECT_FALSE(r.Next());
  EXPECT_TRUE(r.ok()) << r.Error();
  EXPECT_TRUE(r.truncated_tail());
  ::unlink(path.c_str());
}

// Writers extend the file ahead of its tail (fallocate): what lies beyond
// the tail is not read, even when it is not zero.
TEST(Trace, BytesBeyondTheTailAreNotRead) {
  std::string path = TempPath("beyond.trace");
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(1, "only")));
  }
  std::ofstream(path, std::ios::app | std::ios::binary) << std::string(5000, 'x');
  TraceError err;
  auto t = ReadTrace(path, &err);
  ASSERT_TRUE(t) << err.message;
  ASSERT_EQ(t->ops.size(), 1u);
  EXPECT_EQ(t->ops[0].data, "only");
  ::unlink(path.c_str());
}

// A trace written before records were reserved from a tail (a 16-byte
// header, records appended to its end) still reads, and is appended to.
TEST(Trace, ATraceWithoutATailStillReads) {
  std::string path = TempPath("legacy.trace");
  trace::FileHeader fh{};
  std::memcpy(fh.magic, trace::kMagic, sizeof fh.magic);
  fh.version = trace::kVersion;
  fh.header_size = trace::kLegacyHeaderSize;
  std::string bytes(reinterpret_cast<const char*>(&fh), trace::kLegacyHeaderSize);
  bytes += EncodeRecord(SampleWrite(1, "old"));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  {
    TraceWriter w(path);
    ASSERT_TRUE(w.Append(SampleWrite(2, "new")));
  }
  TraceError err;
  auto t = ReadTrace(path, &err);
  ASSERT_TRUE(t) << err.message;
  ASSERT_EQ(t->ops.size(), 2u);
  EXPECT_EQ(t->ops[0].data, "old");
  EXPECT_EQ(t->ops[1].data, "new");
  ::unlink(path.c_str());
}

TEST(Trace, NonTraceFileIsRejected) {
  std::string path = TempPath("junk.trace");
  std::ofstream(path) << "this is not a trace, just some text";
  TraceError err;
  EXPECT_FALSE(ReadTrace(path, &err));
  EXPECT_NE(err.message.find("bad magic"), std::string::npos) << err.message;
  ::unlink(path.c_str());
}

TEST(Trace, FormatOpReadsLikeStrace) {
  Op op;
  op.kind = OpKind::kRename;
  op.seq = 41;
  op.pid = 9;
  op.path = "/r/incoming/A";
  op.path2 = "/r/active/A";
  EXPECT_EQ(FormatOp(op), "    41 [pid     9] rename(\"/r/incoming/A\", \"/r/active/A\") = 0");
  op.result = -1;
  op.err = 5;
  op.flags = trace::kFlagInjected;
  EXPECT_NE(FormatOp(op).find("= -1 EIO (Input/output error) [injected]"), std::string::npos);
}

RC_GTEST_PROP(Trace, EncodeThenReadIsIdentity, (std::string data, std::string path, int64_t off)) {
  Op op = SampleWrite(*rc::gen::inRange<uint64_t>(0, 1u << 20), data);
  op.path = path;
  op.offset = off;
  std::string rec = EncodeRecord(op);
  RC_ASSERT(trace::RecordIsIntact(rec.data(), rec.size()));
  std::string file = TempPath("rc.trace");
  ::unlink(file.c_str());
  {
    TraceWriter w(file);
    RC_ASSERT(w.Append(op));
  }
  TraceReader r(file);
  auto back = r.Next();
  ::unlink(file.c_str());
  RC_ASSERT(back.has_value());
  RC_ASSERT(back->data == op.data);
  RC_ASSERT(back->path == op.path);
  RC_ASSERT(back->offset == op.offset);
  RC_ASSERT(back->seq == op.seq);
}

}  // namespace
}  // namespace aftershock
