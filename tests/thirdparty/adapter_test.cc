// aftershock-sqlite-queue as the harness runs it: a process spoken to over
// pipes (serve), or run once per command (enqueue, deliver, recover).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kAdapter = SQLITE_QUEUE_EXE;

std::string Request(const std::string& id, const std::string& rcpts, const std::string& msg) {
  return "enqueue " + id + " " + rcpts + " " + std::to_string(msg.size()) + "\n" + msg;
}

std::string Message(const std::string& id, const std::string& body) {
  return "Message-ID: <" + id + "@aftershock.invalid>\nX-Aftershock-Id: " + id + "\n\n" + body;
}

class AdapterTest : public testing::Test {
 protected:
  std::string Settings() const { return " --journal-mode WAL --synchronous NORMAL"; }
  RunResult Run(const std::string& args, const std::string& input = "") {
    return RunShell(kAdapter + " " + args + Settings(), dir_.path(), env_, input);
  }
  // Copies the sink accepted, in order: "RCPTS ...\n" + message.
  std::vector<std::string> Copies() {
    std::vector<std::string> copies;
    for (const auto& name : ListDir(sink_out_)) copies.push_back(ReadFile(sink_out_ + "/" + name));
    return copies;
  }

  ScratchDir dir_;
  std::string sink_out_ = dir_.path() + "/sink-out";
  std::map<std::string, std::string> env_ = {
      {"AFTERSHOCK_SINK", WriteRecordingSink(dir_.path() + "/sink.sh", sink_out_)}};
};

TEST_F(AdapterTest, ServeAnswersOkPerRequestAndErrForBadOnes) {
  Child serve(kAdapter + " serve" + Settings(), dir_.path(), env_);
  std::string m1 = Message("m1", std::string("line\n\0binary\n", 13));
  std::string m2 = Message("m2", "two");
  std::string line;
  ASSERT_TRUE(serve.Send(Request("m1", "alice@local bob@remote", m1)));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line, "ok m1");
  ASSERT_TRUE(serve.Send("what is this\n"));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line.rfind("err - ", 0), 0u) << line;
  ASSERT_TRUE(serve.Send("enqueue m9 nobody 4\nxxxx"));  // malformed, but says its size
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line.rfind("err m9 ", 0), 0u) << line;
  ASSERT_TRUE(serve.Send(Request("m1", "carol@local", m2)));  // id already queued
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line.rfind("err m1 ", 0), 0u) << line;
  ASSERT_TRUE(serve.Send(Request("m2", "carol@local", m2)));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line, "ok m2");
  EXPECT_EQ(serve.CloseAndWait(), 0);

  RunResult deliver = Run("deliver");
  ASSERT_EQ(deliver.status, 0) << deliver.err;
  EXPECT_EQ(Copies(), (std::vector<std::string>{"RCPTS alice@local bob@remote\n" + m1,
                                                "RCPTS carol@local\n" + m2}));
  // Delivered rows are gone: a second run delivers nothing new.
  ASSERT_EQ(Run("deliver").status, 0);
  EXPECT_EQ(Copies().size(), 2u);
}

TEST_F(AdapterTest, ServeSkipsAnOverlongLineAndCarriesALargeMessageExactly) {
  Child serve(kAdapter + " serve" + Settings(), dir_.path(), env_);
  std::string line;
  ASSERT_TRUE(serve.Send("enqueue m0 " + std::string(70000, 'a') + "@local 1\n"));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line, "err - request line too long");
  std::string big = Message("m1", "");
  for (int i = 0; big.size() < (1 << 20) + 17; ++i) big += "line " + std::to_string(i) + "\n";
  ASSERT_TRUE(serve.Send(Request("m1", "a@local", big)));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line, "ok m1");
  EXPECT_EQ(serve.CloseAndWait(), 0);
  ASSERT_EQ(Run("deliver").status, 0);
  EXPECT_EQ(Copies(), (std::vector<std::string>{"RCPTS a@local\n" + big}));
}

TEST_F(AdapterTest, ServeAnswersErrWhenInputEndsInsideAMessage) {
  Child serve(kAdapter + " serve" + Settings(), dir_.path(), env_);
  ASSERT_TRUE(serve.Send("enqueue m1 a@local 100\nshort"));
  int status = serve.CloseAndWait();
  std::string line;
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line.rfind("err m1 ", 0), 0u) << line;
  EXPECT_EQ(status, 1);
  ASSERT_EQ(Run("deliver").status, 0);
  EXPECT_TRUE(Copies().empty());
}

TEST_F(AdapterTest, ExitModeEnqueueThenDeliverThenRecover) {
  std::string m1 = Message("m1", "hello\n");
  RunResult enqueue = Run("enqueue m1 a@local b@remote", m1);
  ASSERT_EQ(enqueue.status, 0) << enqueue.err;
  EXPECT_NE(Run("enqueue 'bad id' a@local", m1).status, 0);
  RunResult recover = Run("recover");
  ASSERT_EQ(recover.status, 0) << recover.err;
  ASSERT_EQ(Run("deliver").status, 0);
  EXPECT_EQ(Copies(), (std::vector<std::string>{"RCPTS a@local b@remote\n" + m1}));
}

TEST_F(AdapterTest, RejectedCopyStaysQueuedAndDeliverFails) {
  env_["AFTERSHOCK_SINK"] = WriteRecordingSink(dir_.path() + "/reject.sh", sink_out_, 75);
  ASSERT_EQ(Run("enqueue m1 a@local", Message("m1", "x")).status, 0);
  EXPECT_EQ(Run("deliver").status, 1);
  env_["AFTERSHOCK_SINK"] = WriteRecordingSink(dir_.path() + "/accept.sh", sink_out_);
  ASSERT_EQ(Run("deliver").status, 0);
  EXPECT_EQ(Copies().size(), 2u);  // the rejected attempt and the accepted one
  ASSERT_EQ(Run("deliver").status, 0);
  EXPECT_EQ(Copies().size(), 2u);
}

TEST_F(AdapterTest, RecoverFailsOnACorruptDatabase) {
  ASSERT_EQ(Run("enqueue m1 a@local", Message("m1", std::string(20000, 'x'))).status, 0);
  std::string db = ReadFile(dir_.path() + "/queue.db");
  ASSERT_GT(db.size(), 8192u);
  // Scribble over the b-tree pages, keep the header: SQLite opens the file
  // and integrity_check finds the damage.
  for (size_t i = 4096; i < db.size(); i += 7) db[i] = static_cast<char>(i * 31);
  WriteFile(dir_.path() + "/queue.db", db);
  EXPECT_NE(Run("recover").status, 0);
}

TEST_F(AdapterTest, RecoverFailsWhenTheDatabaseIsMissing) {
  EXPECT_NE(Run("recover").status, 0);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/queue.db"));
}

}  // namespace
}  // namespace aftershock::thirdparty_test
