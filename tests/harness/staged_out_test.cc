// --out is replaced as a whole (harness/staged_out.h): a run that does not
// commit leaves the earlier output intact, one that does leaves only its
// own, and what aftershock did not write is never replaced.
#include "harness/explore/staged_out.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

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
  Status st = staged.Begin(out);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(ReadText(out + "/report.json"), "old");  // untouched until the commit
  dir.Write(staged.path().substr(dir.path().size() + 1) + "/report.json", "new");
  st = staged.Commit();
  ASSERT_TRUE(st.ok()) << st.message();
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
    Status st = staged.Begin(out);
    ASSERT_TRUE(st.ok()) << st.message();
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
  Status st = staged.Begin(out);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(fs::exists(staged.path() + "/recordings"));
  st = staged.Commit();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(fs::is_directory(out));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST(StagedOut, ADirectoryWithFilesAftershockDidNotWriteIsRefused) {
  ScratchDir dir;
  dir.Write("home/notes.txt", "mine");
  StagedOut staged;
  Status st = staged.Begin(dir.path() + "/home");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("notes.txt"), std::string::npos) << st.message();
  EXPECT_EQ(ReadText(dir.path() + "/home/notes.txt"), "mine");
  st = StagedOut().Begin(dir.path() + "/home/notes.txt");
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not a directory"), std::string::npos) << st.message();
  st = StagedOut().Begin("/");
  EXPECT_FALSE(st.ok());
}

TEST(StagedOut, RecordingsWithSymlinksCanBeWrittenAgainIntoTheSameOut) {
  ScratchDir dir;
  std::string initial = dir.path() + "/initial";
  dir.Write("initial/queue/a", "x");
  ASSERT_EQ(::symlink("queue/a", (initial + "/link").c_str()), 0);
  std::string out = dir.path() + "/out";
  for (int run = 0; run < 2; ++run) {
    StagedOut staged;
    Status st = staged.Begin(out);
    ASSERT_TRUE(st.ok()) << st.message();
    st = CopyTree(initial, staged.path() + "/recordings/s/initial");
    ASSERT_TRUE(st.ok()) << st.message();
    dir.Write(staged.path().substr(dir.path().size() + 1) + "/report.json", "{}");
    st = staged.Commit();
    ASSERT_TRUE(st.ok()) << st.message();
  }
  std::string link = out + "/recordings/s/initial/link";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), "queue/a");
}

// Modes are part of a state: a group-writable drop directory (Postfix's
// maildrop/, 0730) is copied as it is, whatever the umask; a socket file
// is left out (it is no part of a state).
TEST(CopyTree, CopiesModesExactlyAndLeavesSocketsOut) {
  ScratchDir dir;
  std::string from = dir.path() + "/from";
  dir.Write("from/queue/maildrop/m1", "x");
  ASSERT_EQ(::chmod((from + "/queue/maildrop").c_str(), 03730), 0);
  ASSERT_EQ(::chmod((from + "/queue/maildrop/m1").c_str(), 0744), 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = from + "/queue/pickup";
  std::memcpy(addr.sun_path, sock.c_str(), sock.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  mode_t old = ::umask(022);
  Status st = CopyTree(from, dir.path() + "/to");
  ::umask(old);
  ::close(s);
  ASSERT_TRUE(st.ok()) << st.message();
  struct stat sb {};
  ASSERT_EQ(::stat((dir.path() + "/to/queue/maildrop").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 03730u);
  ASSERT_EQ(::stat((dir.path() + "/to/queue/maildrop/m1").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0744u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir.path() + "/to/queue/pickup")));
}

}  // namespace
}  // namespace aftershock
