// The shared file helpers (common/file_io.h).
#include "common/file_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

namespace aftershock {
namespace {

TEST(FileIo, WhatWriteAllWritesReadFileBytesReadsBack) {
  char tmpl[] = "/tmp/aftershock-file-io-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  std::string bytes(100000, 'x');
  bytes[7] = '\0';
  EXPECT_TRUE(WriteAll(fd, bytes));
  ::close(fd);
  EXPECT_EQ(ReadFileBytes(tmpl), bytes);
  ::unlink(tmpl);
  EXPECT_EQ(ReadFileBytes(tmpl), "");
}

TEST(FileIo, WriteAllToABadFdFails) { EXPECT_FALSE(WriteAll(-1, "x")); }

TEST(FileIo, SafeFileNameIsOnePlainPathComponent) {
  EXPECT_EQ(SafeFileName("fanout-workfile.v2_x"), "fanout-workfile.v2_x");
  EXPECT_EQ(SafeFileName("a/b c"), "a_b_c");
  EXPECT_EQ(SafeFileName(".."), "_.");
  EXPECT_EQ(SafeFileName(".hidden"), "_hidden");
  EXPECT_EQ(SafeFileName(""), "");
}

}  // namespace
}  // namespace aftershock
