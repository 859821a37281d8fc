// The fork server end to end (injector/fork_server.h, docs/injector.md):
// `aftershock check` gives the same verdicts, findings and example states
// with recover and deliver forked from a server as with both exec'd; a
// target that behaves differently forked (a library that caches its pid) is caught by the check of
// the first states, which turns the server off with a note.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock::testing {
namespace {

using nlohmann::json;

// targets/refqueue.toml with `fork_server` set and `recover` replaced.
std::string Manifest(const ScratchDir& dir, const std::string& name, bool fork_server,
                     const std::string& recover = "refqueue recover") {
  std::string text = ReadText(std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/refqueue.toml");
  text = std::regex_replace(
      text, std::regex("\nrecover = \"[^\"]*\""),
      "\nrecover = \"" + recover + "\"\nfork_server = " + (fork_server ? "true" : "false"));
  return dir.Write(name, text);
}

json Check(const ScratchDir& dir, const std::string& manifest, const std::string& out, Result* r) {
  *r = Aftershock("check --target " + manifest + " --env REFQUEUE_BUG=no-dir-fsync" +
                  " --model process --model posix -j 2 --seed 7 --out " + dir.path() + "/" + out);
  std::string text = ReadText(dir.path() + "/" + out + "/report.json");
  return text.empty() ? json() : json::parse(text);
}

// What must not depend on how commands were started: per scenario and
// model the states and verdicts, each group's cause, size and example, and
// the findings.
std::string Verdicts(const json& report) {
  std::ostringstream out;
  for (const json& s : report["scenarios"]) {
    for (const json& m : s["models"]) {
      out << s["name"] << " " << m["model"] << " explored " << m["states_explored"] << " unique "
          << m["states_unique"] << " verdicts " << m["verdicts"].dump() << "\n";
      for (const json& g : m["groups"]) {
        out << "  " << g["verdict"] << " " << g["cause"] << " x" << g["count"] << " "
            << g["example_state"] << " " << g["example_state_hash"] << "\n";
      }
    }
  }
  for (const json& f : report["findings"]) out << "finding " << f.dump() << "\n";
  return out.str();
}

TEST(ForkServer, ACheckGivesTheSameVerdictsFindingsAndStatesForkedAndExecd) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "refqueue or the recorder is not built";
  ScratchDir dir;
  Result forked, execd;
  json a = Check(dir, Manifest(dir, "forked.toml", true), "forked", &forked);
  json b = Check(dir, Manifest(dir, "execd.toml", false), "execd", &execd);
  EXPECT_EQ(forked.status, 1) << forked.output;  // no-dir-fsync loses mail
  EXPECT_EQ(execd.status, 1) << execd.output;
  ASSERT_TRUE(a.contains("scenarios") && b.contains("scenarios"));
  EXPECT_FALSE(a["findings"].empty());
  EXPECT_EQ(Verdicts(a), Verdicts(b));
  EXPECT_EQ(forked.output.find("fork server was turned off"), std::string::npos) << forked.output;
}

// pid_guard fails when its library was loaded by another process, which is
// so only when it is forked from a server (the libraries' constructors ran
// there): the check must see the difference, turn the server off, and
// leave the exec'd verdicts.
TEST(ForkServer, ATargetThatBehavesDifferentlyForkedTurnsTheServerOffWithANote) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "refqueue or the recorder is not built";
  ScratchDir dir;
  std::string guard = std::string(PID_GUARD) + " refqueue recover";
  Result forked, execd;
  json a = Check(dir, Manifest(dir, "forked.toml", true, guard), "forked", &forked);
  json b = Check(dir, Manifest(dir, "execd.toml", false, guard), "execd", &execd);
  EXPECT_EQ(Verdicts(a), Verdicts(b));
  std::string notes = a["scenarios"].dump();
  EXPECT_NE(notes.find("the fork server was turned off"), std::string::npos) << notes;
  EXPECT_NE(notes.find("recovery-failed"), std::string::npos) << notes;
  EXPECT_EQ(b["scenarios"].dump().find("fork server"), std::string::npos);
}

// A Python queue served from its deferred point (targets/test/pyq.py,
// fork_server = "deferred"): the same verdicts and states as exec'd, with
// and without its planted bug.
std::string PyqScenario(const ScratchDir& dir, const std::string& name, bool fork_server,
                        const std::string& bug) {
  std::string manifest = ReadText(std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test/pyq.toml");
  manifest = std::regex_replace(manifest, std::regex("\\{manifest_dir\\}"),
                                std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/test");
  if (!fork_server) {
    manifest = std::regex_replace(manifest, std::regex("fork_server = \"deferred\""),
                                  "fork_server = false");
  }
  dir.Write(name + ".toml", manifest + "\n[env]\nPYQ_BUG = \"" + bug + "\"\n");
  return dir.Write(name + "-scenario.toml",
                   "target = \"" + name +
                       ".toml\"\nmodels = [\"process\", \"posix\"]\n"
                       "[[step]]\nkind = \"enqueue\"\nrcpts = [\"alice@local\", \"bob@remote\"]\n"
                       "[[step]]\nkind = \"enqueue\"\nrcpts = [\"carol@local\"]\n"
                       "[[step]]\nkind = \"deliver\"\n");
}

TEST(ForkServer, APythonQueueServedFromItsDeferredPointGivesTheExecdVerdicts) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  ScratchDir dir;
  for (const std::string bug : {"", "no-dir-fsync"}) {
    Result runs[2];
    json reports[2];
    for (int forked = 0; forked < 2; ++forked) {
      std::string name = std::string(forked ? "forked" : "execd") + (bug.empty() ? "" : "-bug");
      runs[forked] = Aftershock("run " + PyqScenario(dir, name, forked == 1, bug) +
                                " -j 2 --seed 3 --out " + dir.path() + "/" + name);
      std::string text = ReadText(dir.path() + "/" + name + "/report.json");
      if (!text.empty()) reports[forked] = json::parse(text);
      EXPECT_EQ(runs[forked].status, bug.empty() ? 0 : 1) << runs[forked].output;
      ASSERT_TRUE(reports[forked].contains("scenarios")) << runs[forked].output;
    }
    // Only the scenarios' names (their files') differ.
    EXPECT_EQ(std::regex_replace(Verdicts(reports[1]), std::regex("forked"), "execd"),
              Verdicts(reports[0]))
        << bug;
    EXPECT_EQ(reports[1]["scenarios"].dump().find("fork server"), std::string::npos);
    if (!bug.empty()) {
      EXPECT_FALSE(reports[1]["findings"].empty());
    }
  }
}

}  // namespace
}  // namespace aftershock::testing
