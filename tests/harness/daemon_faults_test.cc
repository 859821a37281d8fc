// Faults in daemon mode (docs/daemon-mode.md, docs/scenarios.md "Faults"):
// a fault armed for enqueue steps goes to `serve`; the enqueue it breaks is
// answered `err`, is not acknowledged, loses nothing acknowledged and
// corrupts nothing, and the injected call is marked in the trace.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::ReadText;
using testing::Aftershock;
using testing::RecordSupported;
using testing::RefqueueBuilt;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

// Two messages through the daemon, then a delivery; `fault` is a [[fault]] table.
std::string Scenario(const ScratchDir& dir, const std::string& fault) {
  return dir.Write("daemon-fault.toml", "target = \"" + std::string(AFTERSHOCK_SOURCE_DIR) +
                                            "/targets/test/daemonq.toml\"\n"
                                            "models = [\"process\", \"posix\"]\n" +
                                            R"(
[[step]]
kind = "enqueue"
rcpts = ["alice@local", "bob@remote"]
body_size = 100
[[step]]
kind = "enqueue"
rcpts = ["carol@local"]
[[step]]
kind = "deliver"

[[fault]]
)" + fault);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(DaemonFaults, FailedFsyncIsAnErrAnswerNotAnAckAndLosesNothing) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string s = Scenario(dir, R"(action = "fail"
point = "posix/io/sync/fsync"
nth = 1
errno = "EIO"
during = "enqueue"
)");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
  const nlohmann::json& sc = j["scenarios"][0];
  ASSERT_EQ(sc["error"], "") << sc.dump(1);
  // m1's first fsync failed: the daemon answered err, and the harness noted it.
  std::string notes = sc["workload_notes"].dump();
  EXPECT_NE(notes.find("step 1 (enqueue m1): serve answered err: "), std::string::npos) << notes;
  EXPECT_EQ(notes.find("enqueue m2"), std::string::npos) << notes;
  for (const auto& m : sc["models"]) {
    for (const char* v : {"lost", "corrupt", "phantom", "recovery-failed"}) {
      EXPECT_EQ(m["verdicts"][v].get<int>(), 0) << m["model"] << " " << v;
    }
    EXPECT_GT(m["verdicts"]["ok"].get<int>(), 0) << m["model"];
  }
  // Only m2 is acknowledged, and the injected fsync is marked in the trace.
  std::string trace = dir.path() + "/out/recordings/daemon-fault/trace.bin";
  Result show = Aftershock("trace show " + trace);
  ASSERT_EQ(show.status, 0) << show.output;
  int acks = 0, injected = 0;
  for (const auto& line : Lines(show.output)) {
    if (line.find("ack") != std::string::npos && line.find("carol@local") != std::string::npos)
      ++acks;
    if (line.find("ack") != std::string::npos && line.find("alice@local") != std::string::npos) {
      ADD_FAILURE() << "m1 acknowledged: " << line;
    }
    if (line.find("[injected]") != std::string::npos) {
      ++injected;
      EXPECT_NE(line.find("fsync"), std::string::npos) << line;
      EXPECT_NE(line.find("EIO"), std::string::npos) << line;
    }
  }
  EXPECT_EQ(acks, 1) << show.output;
  EXPECT_EQ(injected, 1) << show.output;
}

// `step = 2` arms the fault for the second enqueue only, although the
// daemon got its rules when it started, before the first.
TEST(DaemonFaults, FaultArmedForTheSecondEnqueueBreaksTheSecondOnly) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string s = Scenario(dir, R"(action = "fail"
point = "posix/io/rw/write"
nth = 1
errno = "ENOSPC"
step = 2
)");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
  const nlohmann::json& sc = j["scenarios"][0];
  ASSERT_EQ(sc["error"], "") << sc.dump(1);
  std::string notes = sc["workload_notes"].dump();
  EXPECT_NE(notes.find("step 2 (enqueue m2): serve answered err: "), std::string::npos) << notes;
  EXPECT_EQ(notes.find("step 1"), std::string::npos) << notes;
  for (const auto& m : sc["models"]) {
    for (const char* v : {"lost", "corrupt", "phantom", "recovery-failed"}) {
      EXPECT_EQ(m["verdicts"][v].get<int>(), 0) << m["model"] << " " << v;
    }
  }
  Result show = Aftershock("trace show " + dir.path() + "/out/recordings/daemon-fault/trace.bin");
  ASSERT_EQ(show.status, 0) << show.output;
  bool m1_acked = false, m2_acked = false, in_step_2 = false;
  int injected = 0;
  for (const auto& line : Lines(show.output)) {
    if (line.find("mark(\"step\"") != std::string::npos) {
      in_step_2 = line.find("enqueue m2") != std::string::npos;
    }
    m1_acked |= line.find("mark(\"ack\", \"m1 ") != std::string::npos;
    m2_acked |= line.find("mark(\"ack\", \"m2 ") != std::string::npos;
    if (line.find("[injected]") != std::string::npos) {
      ++injected;
      EXPECT_TRUE(in_step_2) << line;
      EXPECT_NE(line.find("ENOSPC"), std::string::npos) << line;
    }
  }
  EXPECT_TRUE(m1_acked);
  EXPECT_FALSE(m2_acked);
  EXPECT_EQ(injected, 1) << show.output;
}

// A fault armed for every step counts the calls of every step, the
// restart's recover command included, though the daemon holds it too.
TEST(DaemonFaults, FaultForEveryStepCountsTheRestartsRecoverToo) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string manifest =
      ReadText(std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test/daemonq.toml");
  for (size_t at; (at = manifest.find("{manifest_dir}")) != std::string::npos;) {
    manifest.replace(at, 14, std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test");
  }
  const std::string recover = "shellq.sh recover\"";
  manifest.replace(manifest.find(recover), recover.size(), "shellq.sh recover && sync queue\"");
  std::string target = dir.Write("daemonq-sync.toml", manifest);
  // m1: fsync of its file (1) and of queue/ (2); the restart's recover: queue/ (3).
  std::string s = dir.Write("daemon-fault.toml", "target = \"" + target + R"("
models = ["process"]
[[step]]
kind = "enqueue"
rcpts = ["alice@local"]
[[step]]
kind = "restart"
[[step]]
kind = "enqueue"
rcpts = ["carol@local"]
[[fault]]
action = "fail"
point = "posix/io/sync/fsync"
nth = 3
errno = "EIO"
)");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  nlohmann::json j = nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
  std::string notes = j["scenarios"][0]["workload_notes"].dump();
  EXPECT_NE(notes.find("step 2 (restart) ended with status 1"), std::string::npos) << notes;
  EXPECT_EQ(notes.find("enqueue m2"), std::string::npos) << notes;
}

}  // namespace
}  // namespace aftershock
