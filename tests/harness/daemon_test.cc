// Daemon mode (docs/daemon-mode.md): the manifest's keys, the Daemon's
// protocol handling, and a recorded workload's marks.
#include "harness/target/daemon.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/target/command_env.h"
#include "harness/target/manifest.h"
#include "harness/explore/recorder.h"
#include "model/trace.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::ScratchDir;

// A daemon in sh: reads each request, swallows the message, answers as
// $ANSWER says ("ok", "err", "wrong", "silent", "die").
constexpr char kShellDaemon[] = R"(while read -r verb id rest; do
  size=${rest##* }
  head -c "$size" > "msg-$id"
  case "${ANSWER:-ok}" in
    ok) echo "ok $id" ;;
    err) echo "err $id disk full" ;;
    wrong) echo "ok not-$id" ;;
    silent) sleep 30 ;;
    die) exit 3 ;;
  esac
done
exit "${EOF_STATUS:-0}")";

LaunchRequest Request(const ScratchDir& dir, const std::string& answer,
                      const std::string& eof_status = "0") {
  std::string script = dir.Write("daemon.sh", kShellDaemon);
  LaunchRequest r;
  r.command = "sh " + script;
  r.cwd = dir.path();
  r.env = {{"ANSWER", answer}, {"EOF_STATUS", eof_status}};
  r.output_path = dir.path() + "/log";
  return r;
}

std::string LoadError(const std::string& text) {
  ScratchDir dir;
  std::string path = dir.Write("m.toml", text);
  Manifest m;
  Status st = LoadManifest(path, &m);
  EXPECT_FALSE(st.ok());
  return st.message().substr(std::min(st.message().size(), path.size()));
}

TEST(DaemonManifest, DaemonModeNeedsServeAndNoEnqueue) {
  ScratchDir dir;
  std::string path = dir.Write("m.toml", R"(name = "d"
[commands]
mode = "daemon"
serve = "myqd"
deliver = "true"
[gaps]
rebuilt = ["queue.db-shm", "idx/*.shm"]
)");
  Manifest m;
  Status st = LoadManifest(path, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_TRUE(m.daemon());
  EXPECT_EQ(m.serve, "myqd");
  EXPECT_TRUE(m.enqueue.empty());
  EXPECT_TRUE(IsRebuilt(m, "queue.db-shm"));
  EXPECT_TRUE(IsRebuilt(m, "idx/a.shm"));
  EXPECT_FALSE(IsRebuilt(m, "queue.db"));
  EXPECT_FALSE(IsRebuilt(m, "idx/sub/a.shm"));  // '*' stays within a directory
}

TEST(DaemonManifest, ServeWithoutDaemonModeIsAnInputError) {
  EXPECT_NE(LoadError("name = \"d\"\n[commands]\nenqueue = \"a\"\nserve = \"b\"\n")
                .find("'serve' needs mode = \"daemon\""),
            std::string::npos);
}

TEST(DaemonManifest, EnqueueInDaemonModeIsAnInputError) {
  std::string e = LoadError("name = \"d\"\n[commands]\nmode = \"daemon\"\nenqueue = \"a\"\n");
  EXPECT_NE(e.find(":4:"), std::string::npos) << e;
  EXPECT_NE(e.find("'enqueue' is for exit mode"), std::string::npos) << e;
}

TEST(DaemonManifest, DaemonModeWithoutServeIsAnInputError) {
  EXPECT_NE(LoadError("name = \"d\"\n[commands]\nmode = \"daemon\"\n").find("'serve'"),
            std::string::npos);
}

TEST(DaemonManifest, UnknownModeAndEscapingRebuiltPathsAreInputErrors) {
  EXPECT_NE(LoadError("name = \"d\"\n[commands]\nmode = \"socket\"\nenqueue = \"a\"\n")
                .find("'mode' must be"),
            std::string::npos);
  EXPECT_NE(LoadError("name = \"d\"\n[commands]\nenqueue = \"a\"\n[gaps]\nrebuilt = [\"../x\"]\n")
                .find("'rebuilt'"),
            std::string::npos);
}

TEST(Daemon, OkAnswersAcknowledgeAndEofStopsItCleanly) {
  ScratchDir dir;
  Daemon d;
  Status st = d.Start(Request(dir, "ok"));
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(d.Enqueue("m1", {"a@local", "b@remote"}, "hello\n", 5000).kind,
            DaemonAnswer::Kind::kOk);
  EXPECT_EQ(d.Enqueue("m2", {"c@local"}, "", 5000).kind, DaemonAnswer::Kind::kOk);
  EXPECT_EQ(testing::ReadText(dir.path() + "/msg-m1"), "hello\n");
  EXPECT_EQ(d.Stop(5000), "0");
  EXPECT_FALSE(d.running());
}

TEST(Daemon, ErrAnswerIsNotAnAcknowledgementAndKeepsTheDaemon) {
  ScratchDir dir;
  Daemon d;
  Status st = d.Start(Request(dir, "err"));
  ASSERT_TRUE(st.ok()) << st.message();
  DaemonAnswer a = d.Enqueue("m1", {"a@local"}, "x", 5000);
  EXPECT_EQ(a.kind, DaemonAnswer::Kind::kErr);
  EXPECT_EQ(a.detail, "disk full");
  EXPECT_TRUE(d.running());
  EXPECT_EQ(d.Stop(5000), "0");
}

TEST(Daemon, AnswerForAnotherIdIsAProtocolErrorThatKillsTheDaemon) {
  ScratchDir dir;
  Daemon d;
  Status st = d.Start(Request(dir, "wrong"));
  ASSERT_TRUE(st.ok()) << st.message();
  DaemonAnswer a = d.Enqueue("m1", {"a@local"}, "x", 5000);
  EXPECT_EQ(a.kind, DaemonAnswer::Kind::kProtocolError);
  EXPECT_NE(a.detail.find("ok not-m1"), std::string::npos) << a.detail;
  EXPECT_FALSE(d.running());
  EXPECT_EQ(d.exit_status(), "signal 9");
}

TEST(Daemon, NoAnswerWithinTheTimeoutIsAProtocolError) {
  ScratchDir dir;
  Daemon d;
  Status st = d.Start(Request(dir, "silent"));
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(d.Enqueue("m1", {"a@local"}, "x", 300).kind, DaemonAnswer::Kind::kProtocolError);
  EXPECT_FALSE(d.running());
}

TEST(Daemon, DaemonDyingWithARequestOutstandingIsAProtocolErrorWithItsStatus) {
  ScratchDir dir;
  Daemon d;
  Status st = d.Start(Request(dir, "die"));
  ASSERT_TRUE(st.ok()) << st.message();
  DaemonAnswer a = d.Enqueue("m1", {"a@local"}, "x", 5000);
  EXPECT_EQ(a.kind, DaemonAnswer::Kind::kProtocolError);
  EXPECT_EQ(d.exit_status(), "3");
}

TEST(Daemon, NonZeroExitOnEofIsReported) {
  ScratchDir dir;
  Daemon d;
  Status st = d.Start(Request(dir, "ok", "4"));
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(d.Stop(5000), "4");
}

// The marks of a recorded workload, in order ("step enqueue m1", "ack m1 a@local", ...).
std::vector<std::string> Marks(const std::string& trace_path) {
  std::vector<std::string> marks;
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (op->kind == OpKind::kMark) marks.push_back(op->path + " " + op->data);
  }
  return marks;
}

Scenario Workload(const std::string& manifest_path) {
  Scenario s;
  s.name = "daemon";
  s.target = manifest_path;
  auto enqueue = [](const std::string& id) {
    Step st;
    st.kind = StepKind::kEnqueue;
    st.id = id;
    st.rcpts = {"a@local"};
    st.body_size = 10;
    return st;
  };
  Step restart;
  restart.kind = StepKind::kRestart;
  s.steps = {enqueue("m1"), restart, enqueue("m2")};
  return s;
}

TEST(DaemonRecording, AckFollowsOkAndRestartStopsRecoversAndStartsAgain) {
  if (!TracingAvailable()) GTEST_SKIP() << "the recorder's library is not built";
  ScratchDir dir;
  dir.Write("daemon.sh", kShellDaemon);
  std::string path = dir.Write("m.toml", R"(name = "d"
[commands]
mode = "daemon"
serve = "sh {manifest_dir}/daemon.sh"
recover = "true"
timeout_s = 5
)");
  Manifest m;
  Status st = LoadManifest(path, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  ToolPaths tools = FindToolPaths();
  Recording rec;
  st = RecordWorkload(Workload(path), m, tools, dir.path() + "/work", &rec);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<std::string> want = {"step serve",     "step enqueue m1", "ack m1 a@local",
                                   "step restart",   "step shutdown",   "exit serve 0",
                                   "exit restart 0", "step serve",      "step enqueue m2",
                                   "ack m2 a@local", "step shutdown",   "exit serve 0"};
  EXPECT_EQ(Marks(rec.run.trace_path), want);
  EXPECT_TRUE(rec.notes.empty()) << rec.notes.front();
}

TEST(DaemonRecording, ProtocolErrorIsATargetErrorAndTheDaemonIsStartedAgain) {
  if (!TracingAvailable()) GTEST_SKIP() << "the recorder's library is not built";
  ScratchDir dir;
  dir.Write("daemon.sh", kShellDaemon);
  std::string path = dir.Write("m.toml", R"(name = "d"
[commands]
mode = "daemon"
serve = "sh {manifest_dir}/daemon.sh"
timeout_s = 5
[env]
ANSWER = "wrong"
)");
  Manifest m;
  Status st = LoadManifest(path, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  Scenario s = Workload(path);
  s.steps.erase(s.steps.begin() + 1);  // no restart: the error restarts it
  ToolPaths tools = FindToolPaths();
  Recording rec;
  st = RecordWorkload(s, m, tools, dir.path() + "/work", &rec);
  ASSERT_TRUE(st.ok()) << st.message();
  std::vector<std::string> want = {"step serve", "step enqueue m1", "exit serve signal 9",
                                   "step serve", "step enqueue m2", "exit serve signal 9"};
  EXPECT_EQ(Marks(rec.run.trace_path), want);
  ASSERT_EQ(rec.notes.size(), 2u);
  EXPECT_NE(rec.notes[0].find("target error"), std::string::npos) << rec.notes[0];
}

}  // namespace
}  // namespace aftershock
