// Shards end to end (docs/scale-out.md): the built-in scenarios and a
// `check` of refqueue, run as 1, 2 and 4 shards and merged, give the report
// of the unsharded run (after removing times, paths and process ids); the
// merge refuses what is not one run, with exit 2, one line, and no output.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/harness/cli_util.h"

namespace aftershock::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class Shards : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RefqueueBuilt()) GTEST_SKIP() << "refqueue or the recorder is not built";
    char tmpl[] = "/tmp/aftershock-shard-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Out(const std::string& name) const { return dir_ + "/" + name; }

  // Runs `what` (run or check arguments) as N shards, two at a time, and
  // merges them. Returns the merge's exit status.
  int ShardAndMerge(const std::string& what, int n, const std::string& merged) {
    std::string outs;
    for (int k = 1; k <= n; k += 2) {
      std::string cmd;
      for (int j = k; j <= std::min(n, k + 1); ++j) {
        std::string out = Out("n" + std::to_string(n) + "-" + std::to_string(j));
        outs += " " + out;
        cmd += std::string(AFTERSHOCK_EXE) + " " + what + " -q -j 1 --shard " + std::to_string(j) +
               "/" + std::to_string(n) + " --out " + out + " & ";
      }
      Result r = Shell(cmd + "wait");
      EXPECT_EQ(r.status, 0) << r.output;
    }
    for (int k = 1; k <= n; ++k) {
      std::string out = Out("n" + std::to_string(n) + "-" + std::to_string(k));
      json j = json::parse(std::ifstream(out + "/report.json"));
      EXPECT_EQ(j["shard"]["index"], k);
      EXPECT_EQ(j["shard"]["count"], n);
      EXPECT_EQ(j["shard"]["source"], "--shard");
    }
    Result m = Aftershock("merge -q" + outs + " --out " + merged);
    EXPECT_EQ(m.output, "");
    return m.status;
  }
  std::string dir_;
};

// The report without what differs between any two runs: times, the command
// line and paths, process ids and what a process id decides (a fork's
// result), and states_recovered (which of two identical states a worker
// checked first).
json Comparable(json j) {
  if (j.is_object()) {
    json out = json::object();
    for (auto& [k, v] : j.items()) {
      if (k == "seconds" || k == "started_utc" || k == "command_line" || k == "sandbox" ||
          k == "reproduce" || k == "shard" || k == "merged_shards" || k == "states_recovered" ||
          k == "pid" || k == "args" || k == "result" || k == "tree_before" || k == "tree_after") {
        continue;
      }
      out[k] = Comparable(v);
    }
    return out;
  }
  if (j.is_array()) {
    for (auto& e : j) e = Comparable(e);
  }
  return j;
}

json ReadReport(const std::string& out) {
  std::ifstream in(out + "/report.json");
  EXPECT_TRUE(in.good()) << out;
  return Comparable(json::parse(in));
}

void ExpectSameReport(const std::string& whole, const std::string& merged) {
  json a = ReadReport(whole);
  json b = ReadReport(merged);
  ASSERT_EQ(a["scenarios"].size(), b["scenarios"].size());
  for (size_t i = 0; i < a["scenarios"].size(); ++i) {
    EXPECT_EQ(a["scenarios"][i], b["scenarios"][i]) << a["scenarios"][i]["name"];
  }
  EXPECT_EQ(a["findings"], b["findings"]);
  EXPECT_EQ(a, b);
}

TEST_F(Shards, BuiltinScenariosMergeToTheUnshardedReport) {
  Result whole = Aftershock("run -q -j 2 --out " + Out("whole"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  for (int n : {1, 2, 4}) {
    std::string merged = Out("merged-" + std::to_string(n));
    EXPECT_EQ(ShardAndMerge("run", n, merged), 0) << n;
    ExpectSameReport(Out("whole"), merged);
    for (const char* f : {"junit.xml", "summary.md", "report.html", "results.sarif"}) {
      EXPECT_TRUE(fs::exists(merged + "/" + f)) << f;
    }
  }
}

TEST_F(Shards, CheckOfRefqueueMergesToTheUnshardedReport) {
  const std::string check = "check --target " AFTERSHOCK_SOURCE_DIR "/targets/refqueue.toml";
  Result whole = Aftershock(check + " -q -j 2 --out " + Out("whole"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  for (int n : {1, 2, 4}) {
    std::string merged = Out("merged-" + std::to_string(n));
    EXPECT_EQ(ShardAndMerge(check, n, merged), 0) << n;
    ExpectSameReport(Out("whole"), merged);
  }
}

// safecat names its files by time, pid and host: every recording writes
// other bytes, but makes the same calls, so the shards split its states
// alike (by id) and the merge is the unsharded run.
TEST_F(Shards, ATargetThatNamesFilesByPidStillShards) {
  if (access("/usr/bin/safecat", X_OK) != 0) GTEST_SKIP() << "safecat is not installed";
  const std::string check =
      "check --target " AFTERSHOCK_SOURCE_DIR "/targets/safecat-dirsync.toml --model process";
  Result whole = Aftershock(check + " -q -j 2 --out " + Out("whole"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  EXPECT_EQ(ShardAndMerge(check, 2, Out("merged")), 0);
  ExpectSameReport(Out("whole"), Out("merged"));
}

// A shard whose part holds no violation still exits 0 (only the merge is
// judged); a bug shows in the merge with exit 1, and its example's log and
// recording come along for replay.
TEST_F(Shards, TheMergeJudgesAndKeepsWhatReplayNeeds) {
  const std::string run = "run " AFTERSHOCK_SOURCE_DIR "/scenarios/bug-no-dir-fsync.toml --model posix";
  Result whole = Aftershock(run + " -q -j 2 --out " + Out("whole"));
  ASSERT_EQ(whole.status, 0) << whole.output;
  ASSERT_EQ(ShardAndMerge(run, 4, Out("merged")), 0);
  ExpectSameReport(Out("whole"), Out("merged"));
  json j = json::parse(std::ifstream(Out("merged") + "/report.json"));
  EXPECT_EQ(j["merged_shards"], 4);
  const json& g = j["scenarios"][0]["models"][0]["groups"][0];
  ASSERT_NE(g["example_log"], "");
  EXPECT_TRUE(fs::exists(Out("merged") + "/" + g["example_log"].get<std::string>()));
  std::string reproduce = g["reproduce"];
  EXPECT_NE(reproduce.find(Out("merged") + "/report.json"), std::string::npos) << reproduce;
  // The example state replays from the merged output alone.
  reproduce.replace(reproduce.find("--into "), 7, "--into " + dir_ + "/");
  ASSERT_EQ(reproduce.rfind("aftershock ", 0), 0u) << reproduce;
  Result replay = Aftershock(reproduce.substr(11));
  EXPECT_EQ(replay.status, 0) << replay.output;
  EXPECT_NE(replay.output.find("lost"), std::string::npos) << replay.output;
}

TEST_F(Shards, MergeRefusesWhatIsNotOneRunWithOneLineAndNoOutput) {
  const std::string run = "run " AFTERSHOCK_SOURCE_DIR "/scenarios/single-message.toml --model process -q -j 2";
  ASSERT_EQ(Aftershock(run + " --shard 1/2 --out " + Out("s1")).status, 0);
  ASSERT_EQ(Aftershock(run + " --shard 2/2 --out " + Out("s2")).status, 0);
  ASSERT_EQ(Aftershock(run + " --seed 9 --shard 2/2 --out " + Out("s2-seed9")).status, 0);
  ASSERT_EQ(Aftershock(run + " --out " + Out("whole")).status, 0);
  fs::create_directories(Out("interrupted"));
  fs::copy(Out("s1"), Out("s1-again"), fs::copy_options::recursive);
  struct Case {
    std::string shards, reason;
  };
  std::vector<Case> cases = {
      {"s1", "shard 2 of 2 missing"},
      {"s1 s1-again s2", "both shard 1/2"},
      {"s1 s2-seed9", "different runs: seed"},
      {"s1 interrupted", "no report.json"},
      {"s1 whole", "not a shard"},
  };
  for (const Case& c : cases) {
    std::string args;
    for (size_t at = 0, next; at < c.shards.size(); at = next + 1) {
      next = c.shards.find(' ', at);
      if (next == std::string::npos) next = c.shards.size();
      args += " " + Out(c.shards.substr(at, next - at));
    }
    Result r = Aftershock("merge" + args + " --out " + Out("merged"));
    EXPECT_EQ(r.status, 2) << c.shards << ": " << r.output;
    EXPECT_NE(r.output.find(c.reason), std::string::npos) << c.shards << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(Out("merged"))) << c.shards;
  }
  Result into_shard = Aftershock("merge " + Out("s1") + " " + Out("s2") + " --out " + Out("s1"));
  EXPECT_EQ(into_shard.status, 2) << into_shard.output;
  EXPECT_TRUE(fs::exists(Out("s1") + "/report.json"));
  Result ok = Aftershock("merge -q " + Out("s2") + " " + Out("s1") + " --out " + Out("merged"));
  EXPECT_EQ(ok.status, 0) << ok.output;
}

}  // namespace
}  // namespace aftershock::testing
