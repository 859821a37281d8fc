// `aftershock replay` end to end: a crash during recovery (`p41-d37/p12`)
// is rebuilt by recording the outer state's recovery again, and is the
// state the run checked; a recorded recovery that writes outside its root
// is `recovery-failed`.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using testing::ReadText;
using testing::Aftershock;
using testing::RecordSupported;
using testing::RefqueueBuilt;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

// Every entry under `dir`: relative path, type, mode and bytes.
std::string Dump(const std::string& dir) {
  std::vector<std::string> lines;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::end(it); ++it) {
    std::string rel = fs::relative(it->path(), dir).string();
    auto st = it->symlink_status();
    std::ostringstream line;
    line << rel << " " << static_cast<int>(st.type()) << " " << std::oct
         << static_cast<int>(st.permissions());
    if (fs::is_regular_file(st)) line << " " << ReadText(it->path().string());
    lines.push_back(line.str());
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The value after `prefix` on the line that starts with it ("" if none).
std::string LineAfter(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

// Pairs ("m1->alice@local") of every copy in a sink log.
std::vector<std::string> SinkPairs(const std::string& log) {
  std::vector<std::string> pairs;
  size_t at = 0;
  while (at < log.size()) {
    size_t eol = log.find('\n', at);
    if (eol == std::string::npos) break;
    std::istringstream header(log.substr(at, eol - at));
    std::string magic, hash;
    size_t len = 0;
    header >> magic >> len >> hash;
    if (magic != "AFTERSHOCK-SINK") break;
    std::string copy = log.substr(eol + 1, len);
    std::string id = LineAfter(copy, "X-Aftershock-Id: ");
    for (std::string rcpt; header >> rcpt;) pairs.push_back(id + "->" + rcpt);
    at = eol + 1 + len + 1;
  }
  return pairs;
}

TEST(Replay, CrashDuringRecoveryIsRebuiltAsTheRunCheckedIt) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "needs refqueue and the injector";
  ScratchDir dir;
  // Recovery re-fans the message out: crashes during it duplicate mail.
  std::string scenario =
      std::string(AFTERSHOCK_SOURCE_DIR) + "/scenarios/bug-recover-not-idempotent.toml";
  Result run =
      Aftershock("run " + scenario + " --nested 1 --model process --out " + dir.path() + "/out -q");
  ASSERT_EQ(run.status, 0) << run.output;
  nlohmann::json report = nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
  // A nested duplicate whose crash falls inside the recovery (not before its first op).
  nlohmann::json group;
  for (const auto& g : report["scenarios"][0]["models"][0]["groups"]) {
    std::string id = g["example_state"];
    size_t slash = id.find('/');
    if (group.is_null() && slash != std::string::npos && id.substr(slash) != "/p0" &&
        g["verdict"] == "duplicate") {
      group = g;
    }
  }
  ASSERT_FALSE(group.is_null()) << report.dump(1);
  std::string id = group["example_state"];
  std::string hash = group["example_state_hash"];
  ASSERT_EQ(hash.size(), 16u);
  // Its evidence comes from the crashed recovery, recorded again.
  const nlohmann::json& evidence = group["evidence"];
  EXPECT_EQ(evidence["error"], "") << evidence.dump(1);
  EXPECT_EQ(evidence["root_cause"].get<std::string>().rfind(
                "during the recovery of state " + id.substr(0, id.find('/')) + " (", 0),
            0u)
      << evidence.dump(1);
  EXPECT_FALSE(evidence["timeline"].empty());
  EXPECT_FALSE(evidence["tree_before"].empty());

  std::string replay = "replay " + dir.path() + "/out/report.json --state " + id + " --into ";
  Result a = Aftershock(replay + dir.path() + "/a", false);
  ASSERT_EQ(a.status, 0) << a.output;
  EXPECT_EQ(LineAfter(a.output, "# state hash "), hash + ", as in the report") << a.output;
  EXPECT_NE(a.output.find("state " + id + ": recovering "), std::string::npos) << a.output;
  EXPECT_NE(a.output.find("# handed to the sink during the crashed recovery"), std::string::npos);
  // Same report, same bytes.
  Result b = Aftershock(replay + dir.path() + "/b", false);
  ASSERT_EQ(b.status, 0) << b.output;
  EXPECT_EQ(Dump(dir.path() + "/a"), Dump(dir.path() + "/b"));
  EXPECT_NE(Dump(dir.path() + "/a"), "");

  // The printed commands reproduce the verdict: with the copies handed over
  // before the crash, some pair is delivered twice.
  std::string script = "set -e\n";
  std::string last;
  std::istringstream lines(a.output);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line[0] != '#') script += (last = line) + "\n";
  }
  script += last + "\n" + last + "\n";  // deliver until nothing new: three rounds
  Result sh = Shell("sh " + dir.Write("replay.sh", script));
  ASSERT_EQ(sh.status, 0) << sh.output << script;
  std::vector<std::string> pairs = SinkPairs(ReadText(dir.path() + "/a.sink.log"));
  for (const char* prefix : {"# handed to the sink before the crash (count as delivered):",
                             "# handed to the sink during the crashed recovery (count as "
                             "delivered):"}) {
    std::istringstream handed(LineAfter(a.output, prefix));
    for (std::string pair; handed >> pair;) {
      if (pair != "(none)") pairs.push_back(pair);
    }
  }
  std::sort(pairs.begin(), pairs.end());
  EXPECT_NE(std::adjacent_find(pairs.begin(), pairs.end()), pairs.end())
      << "no pair delivered twice: " << ::testing::PrintToString(pairs);

  // A report whose hash the replay does not rebuild: materialized, but exit 1.
  std::string text = ReadText(dir.path() + "/out/report.json");
  text.replace(text.find(hash), hash.size(), "0123456789abcdef");
  dir.Write("out/report.json", text);
  Result c = Aftershock(replay + dir.path() + "/c");
  EXPECT_EQ(c.status, 1) << c.output;
  EXPECT_NE(c.output.find("0123456789abcdef in the report"), std::string::npos) << c.output;
  EXPECT_EQ(Dump(dir.path() + "/c"), Dump(dir.path() + "/b"));  // a/ was recovered above
}

TEST(Replay, UnknownInnerStateIsAnError) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "needs refqueue and the injector";
  ScratchDir dir;
  std::string scenario =
      std::string(AFTERSHOCK_SOURCE_DIR) + "/scenarios/crash-during-recovery.toml";
  ASSERT_EQ(
      Aftershock("run " + scenario + " --model process --out " + dir.path() + "/out -q").status, 0);
  nlohmann::json report = nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
  std::string outer = report["scenarios"][0]["models"][0]["groups"][0]["example_state"];
  outer = outer.substr(0, outer.find('/'));
  Result r = Aftershock("replay " + dir.path() +
                        "/out/report.json --scenario crash-during-recovery "
                        "--model process --state " +
                        outer + "/p9999 --into " + dir.path() + "/x");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("has no crash state p9999"), std::string::npos) << r.output;
}

TEST(Replay, RecordedRecoveryWritingOutsideItsRootIsRecoveryFailed) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string s = dir.Write("s.toml", "target = \"" + std::string(AFTERSHOCK_SOURCE_DIR) +
                                          "/targets/test/recover-escape.toml\"\n"
                                          "models = [\"process\"]\nnested = 1\nmax_states = 6\n"
                                          "[[step]]\nkind = \"enqueue\"\nrcpts = [\"a@local\"]\n");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 1) << r.output;
  nlohmann::json j = nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
  const auto& m = j["scenarios"][0]["models"][0];
  EXPECT_GT(m["verdicts"]["recovery-failed"].get<int>(), 0) << m.dump(1);
  EXPECT_EQ(m["verdicts"]["ok"].get<int>(), 0) << m.dump(1);
  ASSERT_FALSE(m["groups"].empty());
  EXPECT_NE(m["groups"][0]["example_detail"].get<std::string>().find("wrote outside its root"),
            std::string::npos)
      << m["groups"][0].dump(1);
  // The example's evidence (from an unrecorded recovery) says why too.
  EXPECT_NE(
      m["groups"][0]["evidence"]["root_cause"].get<std::string>().find("wrote outside its root"),
      std::string::npos)
      << m["groups"][0]["evidence"].dump(1);
  // Without nested crashes the state's recovery is the same; only a recorded
  // recovery can show its escape (docs/scenarios.md).
}

}  // namespace
}  // namespace aftershock
