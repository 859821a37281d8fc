// The queue table and the settings each manifest asks for, in process.
#include "targets/sqlite/queue_db.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>

#include "tests/thirdparty/test_util.h"

namespace aftershock::sqlite_queue {
namespace {

using thirdparty_test::ScratchDir;

class EverySetting : public testing::TestWithParam<std::tuple<JournalMode, Synchronous>> {};

TEST_P(EverySetting, OpensWithTheRequestedPragmasInEffect) {
  ScratchDir dir;
  auto [mode, level] = GetParam();
  std::unique_ptr<QueueDb> db;
  Status s =
      QueueDb::Open(dir.path() + "/queue.db", {mode, level}, QueueDb::OpenFor::kWriting, &db);
  ASSERT_TRUE(s.ok()) << s.message();
  std::string journal_mode, synchronous, mmap_size;
  ASSERT_TRUE(db->QueryText("PRAGMA journal_mode", &journal_mode).ok());
  ASSERT_TRUE(db->QueryText("PRAGMA synchronous", &synchronous).ok());
  ASSERT_TRUE(db->QueryText("PRAGMA mmap_size", &mmap_size).ok());
  EXPECT_EQ(journal_mode, mode == JournalMode::kWal ? "wal" : "delete");
  EXPECT_EQ(synchronous, std::to_string(static_cast<int>(level)));
  EXPECT_EQ(mmap_size, "0");
  // The setting survives reopening the file (journal_mode=WAL is stored in
  // it; synchronous is per connection and set again).
  db.reset();
  s = QueueDb::Open(dir.path() + "/queue.db", {mode, level}, QueueDb::OpenFor::kRecovery, &db);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(db->QueryText("PRAGMA synchronous", &synchronous).ok());
  EXPECT_EQ(synchronous, std::to_string(static_cast<int>(level)));
}

INSTANTIATE_TEST_SUITE_P(Settings, EverySetting,
                         testing::Combine(testing::Values(JournalMode::kDelete, JournalMode::kWal),
                                          testing::Values(Synchronous::kOff, Synchronous::kNormal,
                                                          Synchronous::kFull, Synchronous::kExtra)),
                         [](const auto& info) {
                           return std::string(JournalModeName(std::get<0>(info.param))) + "_" +
                                  SynchronousName(std::get<1>(info.param));
                         });

TEST(QueueDb, MessagesComeBackByteForByteInOrder) {
  ScratchDir dir;
  std::unique_ptr<QueueDb> db;
  ASSERT_TRUE(QueueDb::Open(dir.path() + "/q.db", {}, QueueDb::OpenFor::kWriting, &db).ok());
  std::string binary("a\0b\nc\xff", 6);
  ASSERT_TRUE(db->Insert("m1", {"a@local", "b@remote"}, binary).ok());
  ASSERT_TRUE(db->Insert("m2", {"c@local"}, "").ok());
  std::vector<QueuedMessage> pending;
  ASSERT_TRUE(db->Pending(&pending).ok());
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].id, "m1");
  EXPECT_EQ(pending[0].rcpts, (std::vector<std::string>{"a@local", "b@remote"}));
  EXPECT_EQ(pending[0].message, binary);
  EXPECT_EQ(pending[1].id, "m2");
  EXPECT_EQ(pending[1].message, "");
  ASSERT_TRUE(db->Remove("m1").ok());
  ASSERT_TRUE(db->Pending(&pending).ok());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, "m2");
  EXPECT_TRUE(db->IntegrityCheck().ok());
}

TEST(QueueDb, DuplicateIdIsRefusedAndLeavesTheFirst) {
  ScratchDir dir;
  std::unique_ptr<QueueDb> db;
  ASSERT_TRUE(QueueDb::Open(dir.path() + "/q.db", {}, QueueDb::OpenFor::kWriting, &db).ok());
  ASSERT_TRUE(db->Insert("m1", {"a@local"}, "first").ok());
  EXPECT_FALSE(db->Insert("m1", {"b@local"}, "second").ok());
  std::vector<QueuedMessage> pending;
  ASSERT_TRUE(db->Pending(&pending).ok());
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].message, "first");
}

TEST(QueueDb, RecoveryDoesNotCreateAMissingDatabase) {
  ScratchDir dir;
  std::unique_ptr<QueueDb> db;
  EXPECT_FALSE(QueueDb::Open(dir.path() + "/absent.db", {}, QueueDb::OpenFor::kRecovery, &db).ok());
  EXPECT_TRUE(thirdparty_test::ListDir(dir.path()).empty());
}

TEST(QueueDb, SettingNamesParseBack) {
  for (auto level :
       {Synchronous::kOff, Synchronous::kNormal, Synchronous::kFull, Synchronous::kExtra}) {
    EXPECT_EQ(ParseSynchronous(SynchronousName(level)), level);
  }
  EXPECT_EQ(ParseJournalMode("WAL"), JournalMode::kWal);
  EXPECT_EQ(ParseJournalMode("delete"), JournalMode::kDelete);
  EXPECT_FALSE(ParseJournalMode("truncate"));
  EXPECT_FALSE(ParseSynchronous("4"));
}

}  // namespace
}  // namespace aftershock::sqlite_queue
