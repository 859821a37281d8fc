// The mechanism behind the predicted `lost` of DELETE + FULL under the posix
// and ext4-ordered models (docs/sqlite-verdicts.md), on real SQLite: the
// commit point is the unlink of the journal, which FULL does not make
// durable. Simulate the crash state that drops that unlink by letting strace
// turn it into a no-op, then recover: the acknowledged row is rolled back.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kFlags = " --journal-mode DELETE --synchronous FULL";

bool StraceWorks() {
  ScratchDir dir;
  return RunShell("strace -f -o /dev/null true", dir.path(), {}, "").status == 0;
}

// Enqueues m1 through `serve` (prefixed by `wrapper`), then recovers and
// delivers; returns the number of copies the sink accepted.
size_t AcknowledgeRecoverDeliver(const std::string& wrapper, bool* journal_left) {
  ScratchDir root;
  ScratchDir sink;
  std::map<std::string, std::string> env = {
      {"AFTERSHOCK_SINK", WriteRecordingSink(sink.path() + "/sink.sh", sink.path() + "/out")}};
  EXPECT_EQ(RunShell(std::string(SQLITE_QUEUE_EXE) + " init" + kFlags, root.path(), env, "").status,
            0);
  {
    Child serve(wrapper + SQLITE_QUEUE_EXE + " serve" + kFlags + " 2>/dev/null", root.path(), env);
    std::string line;
    EXPECT_TRUE(serve.Send("enqueue m1 alice@local 5\nhello"));
    EXPECT_TRUE(serve.ReadLine(&line));
    EXPECT_EQ(line, "ok m1");
    EXPECT_EQ(serve.CloseAndWait(), 0);
  }
  *journal_left = std::filesystem::exists(root.path() + "/queue.db-journal");
  RunResult recover =
      RunShell(std::string(SQLITE_QUEUE_EXE) + " recover" + kFlags, root.path(), env, "");
  EXPECT_EQ(recover.status, 0) << "the database stays consistent: " << recover.err;
  RunResult deliver =
      RunShell(std::string(SQLITE_QUEUE_EXE) + " deliver" + kFlags, root.path(), env, "");
  EXPECT_EQ(deliver.status, 0) << deliver.err;
  return ListDir(sink.path() + "/out").size();
}

TEST(DeleteFullCulprit, AcknowledgedRowSurvivesWhenTheJournalUnlinkPersists) {
  bool journal_left = true;
  EXPECT_EQ(AcknowledgeRecoverDeliver("", &journal_left), 1u);
  EXPECT_FALSE(journal_left);
}

TEST(DeleteFullCulprit, AcknowledgedRowIsRolledBackWhenTheJournalUnlinkIsLost) {
  if (!StraceWorks()) GTEST_SKIP() << "strace cannot trace here";
  bool journal_left = false;
  size_t copies = AcknowledgeRecoverDeliver(
      "strace -f -o /dev/null -e trace=unlink,unlinkat -e inject=unlink,unlinkat:retval=0 ",
      &journal_left);
  EXPECT_TRUE(journal_left) << "the unlink was meant to be dropped";
  EXPECT_EQ(copies, 0u) << "a hot journal rolls the acknowledged transaction back: lost";
}

}  // namespace
}  // namespace aftershock::thirdparty_test
