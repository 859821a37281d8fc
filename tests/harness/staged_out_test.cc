// --out is replaced as a whole (harness/staged_out.h): a run that does not
// commit leaves the earlier output intact, one that does leaves only its
// own, and what aftershock did not write is never replaced.
#include "harness/explore/staged_out.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "harness/explore/model_adapter.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using testing::ReadText;
using testing::ScratchDir;

TEST(StagedOut, CommitReplacesTheEarlierOutputAsAWhole) {
  ScratchDir dir;
  std::string out = dir.path() + "/out";
  dir.Write("out/report.json", "old");
  dir.Write("out/recordings/gone/trace.bin", "old");
  StagedOut staged;
  std::string error;
  ASSERT_TRUE(staged.Begin(out, &error)) << error;
  EXPECT_EQ(ReadText(out + "/report.json"), "old");  // untouched until the commit
  dir.Write(staged.path().substr(dir.path().size() + 1) + "/report.json", "new");
  ASSERT_TRUE(staged.Commit(&error)) << error;
  EXPECT_EQ(ReadText(out + "/report.json"), "new");
  EXPECT_FALSE(fs::exists(out + "/recordings/gone"));
  EXPECT_FALSE(fs::exists(staged.path()));
}

TEST(StagedOut, AnInterruptedRunLeavesTheEarlierOutputIntact) {
  ScratchDir dir;
  std::string out = dir.path() + "/out";
  dir.Write("out/report.json", "old");
  std::string staging;
  {
    StagedOut staged;
    std::string error;
    ASSERT_TRUE(staged.Begin(out, &error)) << error;
    staging = staged.path();
    dir.Write(staging.substr(dir.path().size() + 1) + "/recordings/s/trace.bin", "partial");
  }  // no Commit: the run stopped
  EXPECT_EQ(ReadText(out + "/report.json"), "old");
  EXPECT_FALSE(fs::exists(out + "/recordings"));
  EXPECT_FALSE(fs::exists(staging));
}

TEST(StagedOut, AKilledRunsStagingDirectoryIsRemovedAtTheNextStart) {
  ScratchDir dir;
  std::string out = dir.path() + "/out";
  dir.Write(".out.partial/recordings/s/trace.bin", "left by a killed run");
  StagedOut staged;
  std::string error;
  ASSERT_TRUE(staged.Begin(out, &error)) << error;
  EXPECT_FALSE(fs::exists(staged.path() + "/recordings"));
  ASSERT_TRUE(staged.Commit(&error)) << error;
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST(StagedOut, ADirectoryWithFilesAftershockDidNotWriteIsRefused) {
  ScratchDir dir;
  dir.Write("home/notes.txt", "mine");
  StagedOut staged;
  std::string error;
  EXPECT_FALSE(staged.Begin(dir.path() + "/home", &error));
  EXPECT_NE(error.find("notes.txt"), std::string::npos) << error;
  EXPECT_EQ(ReadText(dir.path() + "/home/notes.txt"), "mine");
  EXPECT_FALSE(StagedOut().Begin(dir.path() + "/home/notes.txt", &error));
  EXPECT_NE(error.find("not a directory"), std::string::npos) << error;
  EXPECT_FALSE(StagedOut().Begin("/", &error));
}

TEST(StagedOut, RecordingsWithSymlinksCanBeWrittenAgainIntoTheSameOut) {
  ScratchDir dir;
  std::string initial = dir.path() + "/initial";
  dir.Write("initial/queue/a", "x");
  ASSERT_EQ(::symlink("queue/a", (initial + "/link").c_str()), 0);
  std::string out = dir.path() + "/out";
  for (int run = 0; run < 2; ++run) {
    StagedOut staged;
    std::string error;
    ASSERT_TRUE(staged.Begin(out, &error)) << error;
    ASSERT_TRUE(CopyTree(initial, staged.path() + "/recordings/s/initial", &error)) << error;
    dir.Write(staged.path().substr(dir.path().size() + 1) + "/report.json", "{}");
    ASSERT_TRUE(staged.Commit(&error)) << error;
  }
  std::string link = out + "/recordings/s/initial/link";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), "queue/a");
}

}  // namespace
}  // namespace aftershock
