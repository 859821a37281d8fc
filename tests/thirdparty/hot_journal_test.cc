// A process killed inside a transaction leaves a hot rollback journal (or
// uncommitted WAL frames); `recover` must keep every committed row and drop
// the uncommitted one.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "targets/sqlite/queue_db.h"
#include "tests/thirdparty/test_util.h"

namespace aftershock::sqlite_queue {
namespace {

using thirdparty_test::RunShell;
using thirdparty_test::ScratchDir;

// Runs in the forked child: commits m1 and m2, then starts a transaction
// large enough to spill into the database file (DELETE) or the WAL, tells
// the parent, and waits to be killed.
[[noreturn]] void CommitTwiceThenHangInsideATransaction(const std::string& path, Settings settings,
                                                        int ready_fd) {
  std::unique_ptr<QueueDb> db;
  if (!QueueDb::Open(path, settings, QueueDb::OpenFor::kWriting, &db).ok()) _exit(10);
  if (!db->Insert("m1", {"a@local"}, "acked one").ok()) _exit(11);
  if (!db->Insert("m2", {"b@local"}, "acked two").ok()) _exit(12);
  // A tiny page cache forces SQLite to write uncommitted pages out before
  // COMMIT, which is what makes the journal hot.
  if (sqlite3_exec(db->handle(), "PRAGMA cache_size=4; BEGIN IMMEDIATE", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    _exit(13);
  }
  for (int i = 0; i < 50; ++i) {
    std::string sql =
        "INSERT INTO queue VALUES('m3-" + std::to_string(i) + "', 'c@local', zeroblob(8000))";
    if (sqlite3_exec(db->handle(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) _exit(14);
  }
  char ready = 'r';
  if (write(ready_fd, &ready, 1) != 1) _exit(15);
  for (;;) pause();
}

class KilledInsideATransaction : public testing::TestWithParam<JournalMode> {};

TEST_P(KilledInsideATransaction, RecoverKeepsCommittedRowsAndDropsTheOpenOne) {
  ScratchDir dir;
  const std::string db_path = dir.path() + "/queue.db";
  Settings settings{GetParam(), Synchronous::kFull};
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(ready[0]);
    CommitTwiceThenHangInsideATransaction(db_path, settings, ready[1]);
  }
  close(ready[1]);
  char byte = 0;
  ssize_t n = read(ready[0], &byte, 1);
  close(ready[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(n, 1) << "child failed before the transaction, status " << status;
  ASSERT_TRUE(WIFSIGNALED(status));

  const std::string leftover = db_path + (GetParam() == JournalMode::kWal ? "-wal" : "-journal");
  ASSERT_TRUE(std::filesystem::exists(leftover));
  ASSERT_GT(std::filesystem::file_size(leftover), 0u);

  std::string args =
      std::string(" --journal-mode ") + JournalModeName(GetParam()) + " --synchronous FULL";
  auto recover = RunShell(std::string(SQLITE_QUEUE_EXE) + " recover" + args, dir.path(), {}, "");
  ASSERT_EQ(recover.status, 0) << recover.err;
  if (GetParam() == JournalMode::kDelete) {
    EXPECT_FALSE(std::filesystem::exists(leftover)) << "the hot journal was not rolled back";
  }

  std::unique_ptr<QueueDb> db;
  ASSERT_TRUE(QueueDb::Open(db_path, settings, QueueDb::OpenFor::kRecovery, &db).ok());
  std::vector<QueuedMessage> pending;
  ASSERT_TRUE(db->Pending(&pending).ok());
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, "m1");
  EXPECT_EQ(pending[0].message, "acked one");
  EXPECT_EQ(pending[1].id, "m2");
  EXPECT_EQ(pending[1].message, "acked two");
}

INSTANTIATE_TEST_SUITE_P(JournalModes, KilledInsideATransaction,
                         testing::Values(JournalMode::kDelete, JournalMode::kWal),
                         [](const auto& info) { return std::string(JournalModeName(info.param)); });

}  // namespace
}  // namespace aftershock::sqlite_queue
