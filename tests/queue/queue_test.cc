// The queue's library behaviour, one step at a time, without crashes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "fs.h"
#include "layout.h"
#include "queue_file.h"
#include "refqueue.h"
#include "support.h"

namespace refqueue {
namespace {

using testing::FilesUnder;
using testing::MakeMessage;
using testing::Sandbox;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

std::string Slurp(const std::string& path) {
  std::string bytes;
  EXPECT_TRUE(ReadFile(path, &bytes).ok()) << path;
  return bytes;
}

void WriteRaw(const std::string& path, const std::string& bytes, mode_t mode) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

class QueueTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Init(Opts(), {"local", "remote"}).ok()); }
  Options Opts(bool maildir = false) const { return sandbox_.MakeOptions(maildir); }
  std::string EnqueueOk(const std::string& id, const std::vector<std::string>& rcpts,
                        Fanout fanout = Fanout::kWorkfile) {
    Options options = Opts();
    options.fanout = fanout;
    std::string name;
    Status status = Enqueue(options, id, rcpts, MakeMessage(id, rcpts, 100), &name);
    EXPECT_TRUE(status.ok()) << status.message();
    return name;
  }
  std::string Incoming(const std::string& name) const {
    return JoinPath(sandbox_.root() + "/incoming", name);
  }
  std::string InQueue(const std::string& queue, const std::string& name) const {
    return sandbox_.root() + "/queues/" + queue + "/" + name;
  }
  Sandbox sandbox_;
};

TEST_F(QueueTest, AcknowledgedEnqueueLeavesACompleteValidFileInIncoming) {
  std::string name = EnqueueOk("m1", {"a@local", "b@remote"});
  EXPECT_EQ(name, "1000.m1");
  EXPECT_EQ(ModeOf(Incoming(name)), 0700u);
  QueueFile file;
  ASSERT_TRUE(LoadQueueFile(Incoming(name), &file, nullptr).ok());
  EXPECT_EQ(file.content, MakeMessage("m1", {"a@local", "b@remote"}, 100));
  EXPECT_EQ(file.outputs, (std::vector<std::string>{"local", "remote"}));
}

TEST_F(QueueTest, SameIdAtTheSameVirtualTimeGetsTheNextSuffix) {
  EXPECT_EQ(EnqueueOk("m1", {"a@local"}), "1000.m1");
  EXPECT_EQ(EnqueueOk("m1", {"a@local"}), "1000.m1.1");
}

TEST_F(QueueTest, BadRecipientIsRefusedAndNothingIsWritten) {
  std::string name;
  Status status = Enqueue(Opts(), "m1", {"a@local", "nodomain"}, "x", &name);
  EXPECT_TRUE(status.IsInvalid());
  EXPECT_TRUE(FilesUnder(sandbox_.root()).empty());
}

TEST_F(QueueTest, WorkfileFanoutWritesOneOutputPerDomainAndRemovesTheWorkFile) {
  std::string name = EnqueueOk("m1", {"a@local", "b@remote", "c@remote"});
  RecoverStats stats;
  ASSERT_TRUE(Recover(Opts(), &stats).ok());
  EXPECT_EQ(stats.fanned_out, 1);
  QueueFile local, remote;
  ASSERT_TRUE(LoadQueueFile(InQueue("local", name), &local, nullptr).ok());
  ASSERT_TRUE(LoadQueueFile(InQueue("remote", name), &remote, nullptr).ok());
  ASSERT_EQ(local.recipients.size(), 1u);
  EXPECT_EQ(local.recipients[0].address, "a@local");
  EXPECT_EQ(remote.recipients.size(), 2u);
  EXPECT_EQ(ModeOf(InQueue("remote", name)), 0700u);
  EXPECT_TRUE(FilesUnder(sandbox_.root() + "/incoming").empty());
}

TEST_F(QueueTest, HardlinkFanoutLinksOneInodeIntoEachQueue) {
  std::string name = EnqueueOk("m1", {"a@local", "b@remote"}, Fanout::kHardlink);
  RecoverStats stats;
  ASSERT_TRUE(Recover(Opts(), &stats).ok());
  struct stat local, remote;
  ASSERT_EQ(stat(InQueue("local", name).c_str(), &local), 0);
  ASSERT_EQ(stat(InQueue("remote", name).c_str(), &remote), 0);
  EXPECT_EQ(local.st_ino, remote.st_ino);
  EXPECT_EQ(local.st_nlink, 2u);
  EXPECT_TRUE(FilesUnder(sandbox_.root() + "/incoming").empty());
}

TEST_F(QueueTest, DeliverHandsEveryCopyToTheSinkOnceAndEmptiesTheQueues) {
  EnqueueOk("m1", {"a@local", "b@remote"});
  EnqueueOk("m2", {"c@local", "d@remote"}, Fanout::kHardlink);
  DeliverStats stats;
  ASSERT_TRUE(Deliver(Opts(), &stats).ok());
  EXPECT_EQ(stats.delivered, 4);
  std::vector<testing::Delivery> deliveries = sandbox_.Deliveries();
  ASSERT_EQ(deliveries.size(), 4u);
  EXPECT_EQ(deliveries[0].content, MakeMessage("m1", {"a@local", "b@remote"}, 100));
  EXPECT_TRUE(FilesUnder(sandbox_.root()).empty());
  ASSERT_TRUE(Deliver(Opts(), &stats).ok());
  EXPECT_EQ(sandbox_.Deliveries().size(), 4u);
}

TEST_F(QueueTest, MaildirDeliveryLeavesOneCopyInNewPerRecipientAndNothingInTmp) {
  EnqueueOk("m1", {"a@local", "b@remote"}, Fanout::kHardlink);
  DeliverStats stats;
  ASSERT_TRUE(Deliver(Opts(/*maildir=*/true), &stats).ok());
  std::vector<std::string> copies = FilesUnder(sandbox_.root() + "/mail");
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0], sandbox_.root() + "/mail/a@local/new/1000.m1");
  EXPECT_EQ(Slurp(copies[1]), MakeMessage("m1", {"a@local", "b@remote"}, 100));
  EXPECT_TRUE(FilesUnder(sandbox_.root() + "/queues").empty());
}

TEST_F(QueueTest, RefusedCopiesStayQueuedUntilTheSinkAccepts) {
  EnqueueOk("m1", {"a@local"});
  DeliverStats stats;
  ASSERT_TRUE(Deliver(sandbox_.MakeOptions(false, /*sink_refuses=*/true), &stats).ok());
  EXPECT_EQ(stats.deferred, 1);
  EXPECT_TRUE(sandbox_.Deliveries().empty());
  EXPECT_EQ(FilesUnder(sandbox_.root() + "/queues").size(), 1u);
  ASSERT_TRUE(Deliver(Opts(), &stats).ok());
  EXPECT_EQ(sandbox_.Deliveries().size(), 1u);
}

TEST_F(QueueTest, IncompleteFileIsNeverDelivered) {
  QueueFile file;
  file.id = "m9";
  file.created_s = 1000;
  file.recipients = {{"a@local", RcptStatus::kPending, 0}};
  file.content = MakeMessage("m9", {"a@local"}, 10);
  WriteRaw(InQueue("local", "1000.m9"), Encode(&file), 0600);
  DeliverStats stats;
  ASSERT_TRUE(Deliver(Opts(), &stats).ok());
  EXPECT_TRUE(sandbox_.Deliveries().empty());
  EXPECT_EQ(FilesUnder(sandbox_.root() + "/queues").size(), 1u);
}

TEST_F(QueueTest, IncompleteFileIsRemovedOnlyWhenOlderThanTheThresholdByVirtualTime) {
  WriteRaw(Incoming("1000.m9"), "RQF1 half written", 0600);
  Options options = Opts();
  options.stale_after_s = 3600;
  options.now_s = 1000 + 3600;
  RecoverStats stats;
  ASSERT_TRUE(Recover(options, &stats).ok());
  EXPECT_EQ(stats.stale_removed, 0);
  EXPECT_EQ(FilesUnder(sandbox_.root() + "/incoming").size(), 1u);
  options.now_s = 1000 + 3601;
  ASSERT_TRUE(Recover(options, &stats).ok());
  EXPECT_EQ(stats.stale_removed, 1);
  EXPECT_TRUE(FilesUnder(sandbox_.root() + "/incoming").empty());
}

TEST_F(QueueTest, InvalidCompleteFileIsQuarantinedUnchangedAndNeverDelivered) {
  WriteRaw(InQueue("local", "1000.m9"), "RQF1 torn", 0700);
  DeliverStats stats;
  ASSERT_TRUE(Deliver(Opts(), &stats).ok());
  EXPECT_EQ(stats.quarantined, 1);
  EXPECT_TRUE(sandbox_.Deliveries().empty());
  EXPECT_EQ(Slurp(sandbox_.root() + "/corrupt/local.1000.m9"), "RQF1 torn");
  RecoverStats recovered;
  ASSERT_TRUE(Recover(Opts(), &recovered).ok());
  EXPECT_EQ(FilesUnder(sandbox_.root() + "/corrupt").size(), 1u);
}

TEST_F(QueueTest, RecoverRemovesMaildirTmpLeftovers) {
  WriteRaw(sandbox_.root() + "/mail/a@local/tmp/1000.m1", "partial", 0644);
  RecoverStats stats;
  ASSERT_TRUE(Recover(Opts(), &stats).ok());
  EXPECT_EQ(stats.tmp_removed, 1);
  EXPECT_TRUE(FilesUnder(sandbox_.root() + "/mail").empty());
}

TEST_F(QueueTest, FileWithEveryRecipientDoneIsRemovedByRecover) {
  QueueFile file;
  file.id = "m9";
  file.created_s = 1000;
  file.recipients = {{"a@local", RcptStatus::kDone, 0}};
  file.content = "x";
  WriteRaw(InQueue("local", "1000.m9"), Encode(&file), 0700);
  RecoverStats stats;
  ASSERT_TRUE(Recover(Opts(), &stats).ok());
  EXPECT_EQ(stats.done_removed, 1);
  EXPECT_TRUE(FilesUnder(sandbox_.root() + "/queues").empty());
}

TEST_F(QueueTest, RecoverTwiceLeavesTheSameStateAsOnce) {
  EnqueueOk("m1", {"a@local", "b@remote"});
  EnqueueOk("m2", {"a@local", "b@remote"}, Fanout::kHardlink);
  WriteRaw(Incoming("1.m9"), "stale", 0600);
  WriteRaw(InQueue("remote", "1000.m8"), "bad", 0700);
  auto snapshot = [this] {
    std::vector<std::string> state;
    for (const std::string& path : FilesUnder(sandbox_.root())) {
      state.push_back(path + "=" + Slurp(path));
    }
    return state;
  };
  RecoverStats stats;
  ASSERT_TRUE(Recover(Opts(), &stats).ok());
  std::vector<std::string> once = snapshot();
  ASSERT_TRUE(Recover(Opts(), &stats).ok());
  EXPECT_EQ(snapshot(), once);
}

TEST_F(QueueTest, BinaryContentArrivesByteForByteThroughSinkAndMaildir) {
  std::string content = "X-Aftershock-Id: bin\n\n";
  for (int i = 0; i < 4096; ++i) content.push_back(static_cast<char>(i % 256));
  std::string name;
  ASSERT_TRUE(Enqueue(Opts(), "bin", {"a@local", "b@remote"}, content, &name).ok());
  DeliverStats stats;
  Options options = Opts();
  ASSERT_TRUE(Deliver(options, &stats).ok());
  ASSERT_TRUE(Enqueue(Opts(), "bin", {"c@local"}, content, &name).ok());
  ASSERT_TRUE(Deliver(Opts(/*maildir=*/true), &stats).ok());
  std::vector<testing::Delivery> deliveries = sandbox_.Deliveries();
  ASSERT_EQ(deliveries.size(), 3u);
  for (const testing::Delivery& delivery : deliveries) EXPECT_EQ(delivery.content, content);
}

// The same workload must give the same trace: names and bytes hold no pid,
// random number or wall-clock time.
TEST(Determinism, SameWorkloadLeavesTheSameNamesModesAndBytes) {
  auto run = [](std::vector<std::string>* snapshots) {
    Sandbox sandbox;
    Options options = sandbox.MakeOptions(/*maildir=*/true);
    auto snapshot = [&] {
      std::string state;
      for (const std::string& path : FilesUnder(sandbox.root())) {
        std::string bytes;
        EXPECT_TRUE(ReadFile(path, &bytes).ok());
        state += path.substr(sandbox.root().size()) + " " + std::to_string(ModeOf(path)) + " " +
                 bytes + "\n";
      }
      snapshots->push_back(state);
    };
    std::string name;
    for (Fanout fanout : {Fanout::kWorkfile, Fanout::kHardlink, Fanout::kWorkfile}) {
      options.fanout = fanout;
      ASSERT_TRUE(Enqueue(options, "m1", {"a@local", "b@remote"}, "hello", &name).ok());
      snapshot();
    }
    RecoverStats recovered;
    ASSERT_TRUE(Recover(options, &recovered).ok());
    snapshot();
    DeliverStats delivered;
    ASSERT_TRUE(Deliver(options, &delivered).ok());
    snapshot();
  };
  std::vector<std::string> first, second;
  run(&first);
  run(&second);
  ASSERT_EQ(first.size(), 5u);
  EXPECT_EQ(first, second);
  EXPECT_NE(first[3].find("/queues/remote/1000.m1.2 448"), std::string::npos) << first[3];
}

TEST(Layout, NamesStartWithTheVirtualCreationTime) {
  EXPECT_EQ(FileName(1000, "m1", 0), "1000.m1");
  EXPECT_EQ(FileName(1000, "m1", 2), "1000.m1.2");
  EXPECT_EQ(CreatedAt("1000.m1.2"), 1000);
  EXPECT_EQ(CreatedAt("leftover"), std::nullopt);
  EXPECT_EQ(CreatedAt(".1000"), std::nullopt);
}

TEST(Layout, RecipientsNeedALocalPartAndALowerCaseDomain) {
  EXPECT_TRUE(IsValidRecipient("alice@local"));
  EXPECT_EQ(DomainOf("alice@mx.remote"), "mx.remote");
  EXPECT_FALSE(IsValidRecipient("alice"));
  EXPECT_FALSE(IsValidRecipient("@local"));
  EXPECT_FALSE(IsValidRecipient("alice@"));
  EXPECT_FALSE(IsValidRecipient("alice@Local"));
  EXPECT_FALSE(IsValidRecipient("a/b@local"));
  EXPECT_FALSE(IsValidRecipient("alice@../etc"));
}

TEST(Bugs, EveryVariantHasAUniqueNameAndAHelpLine) {
  std::set<std::string_view> names;
  for (const BugInfo& info : AllBugs()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_FALSE(info.breaks.empty());
    BugSet set;
    ASSERT_TRUE(BugSet::Parse(info.name, &set).ok());
    EXPECT_TRUE(set.Has(info.bug));
  }
  EXPECT_GE(names.size(), 10u);
}

TEST(Bugs, UnknownVariantIsRefused) {
  BugSet set;
  EXPECT_TRUE(BugSet::Parse("done-before-delivery,no-such-bug", &set).IsInvalid());
  ASSERT_TRUE(BugSet::Parse("", &set).ok());
  EXPECT_TRUE(set.empty());
}

}  // namespace
}  // namespace refqueue
