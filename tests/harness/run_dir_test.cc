// The run directory and the sink log: scratch is removed, dead runs'
// leftovers too, and nothing else.
#include "harness/target/run_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "harness/explore/baseline.h"
#include "harness/target/sink_log.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

TEST(RunDir, LeftoverOfADeadRunIsRemoved) {
  ScratchDir base;
  std::string dead = base.path() + "/aftershock-999999-abc123";
  fs::create_directories(dead + "/s/root");
  base.Write("aftershock-999999-abc123/lock", "999999\n");
  EXPECT_EQ(RemoveDeadRuns(base.path()), 1);
  EXPECT_FALSE(fs::exists(dead));
}

TEST(RunDir, LeftoverWithoutALockIsRemoved) {
  ScratchDir base;
  base.Write("aftershock-999999-abc124/s-0/root/x", "x");
  EXPECT_EQ(RemoveDeadRuns(base.path()), 1);
  EXPECT_FALSE(fs::exists(base.path() + "/aftershock-999999-abc124"));
}

TEST(RunDir, RunWhoseLockIsHeldIsKept) {
  ScratchDir base;
  std::string live = base.path() + "/aftershock-1-abc";
  fs::create_directories(live);
  std::string lock = base.Write("aftershock-1-abc/lock", "1\n");
  int fd = open(lock.c_str(), O_RDONLY);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  // flock locks belong to the open file description: a second open in this
  // process cannot take it either.
  EXPECT_EQ(RemoveDeadRuns(base.path()), 0);
  EXPECT_TRUE(fs::exists(live));
  close(fd);
}

TEST(RunDir, OtherNamesAndKeptRunsAreNeverTouched) {
  ScratchDir base;
  base.Write("aftershock-notes/lock", "");
  base.Write("aftershock-12-zz/lock", "");  // not hex
  base.Write("aftershock-12-ab/lock", "");
  base.Write("aftershock-12-ab/keep", "");
  base.Write(".aftershock-12-ac.new/lock", "");  // being built
  base.Write("other/lock", "");
  EXPECT_EQ(RemoveDeadRuns(base.path()), 0);
  for (const char* d : {"aftershock-notes", "aftershock-12-zz", "aftershock-12-ab",
                        ".aftershock-12-ac.new", "other"}) {
    EXPECT_TRUE(fs::exists(base.path() + "/" + d)) << d;
  }
}

TEST(RunDir, CreateMakesALockedDirectoryAndRemovesItAtTheEnd) {
  ScratchDir base;
  std::string path;
  {
    std::unique_ptr<RunDir> run;
    Status st = RunDir::Create(&run, base.path());
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(run);
    path = run->path();
    EXPECT_TRUE(fs::exists(path + "/lock"));
    EXPECT_EQ(RemoveDeadRuns(base.path()), 0);  // its own lock is held
    std::string dir = run->MakeDir("a/b");
    base.Write(dir.substr(base.path().size() + 1) + "/f", "x");
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(RunDirDeathTest, RemovingOutsideTheRunDirAborts) {
  ScratchDir base;
  std::string victim = base.Write("victim", "x");
  EXPECT_DEATH(RemoveTreeInside(base.path() + "/aftershock-1-ab", victim), "refusing");
  EXPECT_DEATH(RemoveTreeInside(base.path() + "/run", base.path() + "/run/../victim"), "refusing");
  EXPECT_TRUE(fs::exists(victim));
}

TEST(SinkLog, RecordsRoundTripAndATornTailIsIgnored) {
  ScratchDir dir;
  std::string log = EncodeSinkRecord({"a@local"}, "X-Aftershock-Id: m1\n\nbody") +
                    EncodeSinkRecord({"b@remote", "c@remote"}, std::string("\0\n2", 3));
  std::string full = dir.Write("sink.log", log);
  std::vector<SinkRecord> records;
  ASSERT_TRUE(ReadSinkLog(full, &records));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].rcpts, std::vector<std::string>{"a@local"});
  EXPECT_EQ(records[1].copy, std::string("\0\n2", 3));
  EXPECT_EQ(records[1].rcpts.size(), 2u);
  std::string torn = dir.Write("torn.log", log.substr(0, log.size() - 2));
  EXPECT_EQ(CountSinkRecords(torn), 1u);
  EXPECT_EQ(CountSinkRecords(dir.path() + "/missing.log"), 0u);
}

// The tail of a command's output that baseline errors quote.
TEST(BaselineOutput, LastLinesKeepsTheLastNLines) {
  EXPECT_EQ(LastLines("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(LastLines("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(LastLines("a\nb\nc\n", 5), "a\nb\nc");
  EXPECT_EQ(LastLines("one line", 3), "one line");
  EXPECT_EQ(LastLines("a\n\nb\n", 2), "\nb");
  EXPECT_EQ(LastLines("", 3), "");
}

}  // namespace
}  // namespace aftershock
