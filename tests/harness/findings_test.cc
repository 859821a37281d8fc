// Findings end to end (reports/findings.h): the refqueue bug variants, run
// together as a user would run them, give one finding per variant that
// loses mail, none for the variants whose only fault is an allowed
// duplicate, and the same fingerprints on a second run in other folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock::testing {
namespace {

using nlohmann::json;

const char* const kVariants[] = {"ack-before-fsync",
                                 "chmod-before-last-write",
                                 "done-before-delivery",
                                 "hardlink-unlink-before-dirsync",
                                 "maildir-link-before-fsync",
                                 "no-dir-fsync",
                                 "no-done-fsync",
                                 "no-fsync-before-chmod",
                                 "no-fsync-new",
                                 "recover-not-idempotent",
                                 "stale-ignores-age",
                                 "workfile-unlink-first"};

// Their only fault is a duplicate delivery, which is allowed (and limited by
// each scenario's max_duplicate_rate): no finding.
const std::set<std::string> kDuplicateOnly = {"bug-no-done-fsync", "bug-recover-not-idempotent"};

json RunAll(const ScratchDir& dir, const std::string& out) {
  std::string files;
  for (const char* v : kVariants) {
    files += std::string(" ") + AFTERSHOCK_SOURCE_DIR + "/scenarios/bug-" + v + ".toml";
  }
  Result r = Aftershock("run" + files + " --out " + dir.path() + "/" + out + " -j 2");
  EXPECT_EQ(r.status, 0) << r.output;  // every variant's violation is expected
  EXPECT_NE(r.output.find("10 findings (0 unexpected, 10 expected)"), std::string::npos)
      << r.output;
  return json::parse(ReadText(dir.path() + "/" + out + "/report.json"));
}

TEST(Findings, EachRefqueueVariantIsOneFindingWithAStableFingerprint) {
  ScratchDir dir;
  json report = RunAll(dir, "first");
  std::map<std::string, int> findings_of;  // scenario -> findings naming it
  std::set<std::string> fingerprints;
  for (const json& f : report["findings"]) {
    ASSERT_EQ(f["scenarios"].size(), 1u) << f.dump(1);  // one variant, one bug
    ++findings_of[f["scenarios"][0].get<std::string>()];
    fingerprints.insert(f["fingerprint"].get<std::string>());
    EXPECT_TRUE(f["expected"].get<bool>());
  }
  for (const char* v : kVariants) {
    std::string name = std::string("bug-") + v;
    EXPECT_EQ(findings_of[name], kDuplicateOnly.count(name) ? 0 : 1) << name;
  }
  // A finding keyed by its culprit names the caller of queue/fs.cc's
  // helpers (culprit_frame.h), in the function the variant changed.
  const std::map<std::string, std::string> kBlamed = {
      {"bug-ack-before-fsync", "queue_file.cc refqueue::CommitQueueFile"},
      {"bug-no-fsync-before-chmod", "queue_file.cc refqueue::CommitQueueFile"},
      {"bug-maildir-link-before-fsync", "handoff.cc refqueue::MaildirDeliver"},
      {"bug-no-fsync-new", "handoff.cc refqueue::MaildirDeliver"},
      {"bug-hardlink-unlink-before-dirsync", "fanout.cc refqueue::FanOut"},
  };
  for (const json& f : report["findings"]) {
    std::string key = f["key"].get<std::string>();
    if (key.rfind("site|", 0) != 0) continue;
    EXPECT_EQ(key.find("|fs.cc "), std::string::npos) << key;
    auto it = kBlamed.find(f["scenarios"][0].get<std::string>());
    if (it != kBlamed.end()) {
      EXPECT_EQ(key.substr(key.rfind('|') + 1), it->second) << key;
    }
  }
  // Another run: other run directories, another out directory, the same bugs.
  json again = RunAll(dir, "second");
  std::set<std::string> again_prints;
  for (const json& f : again["findings"]) again_prints.insert(f["fingerprint"].get<std::string>());
  EXPECT_EQ(again_prints, fingerprints);
  // The SARIF carries them: one result per finding.
  json sarif = json::parse(ReadText(dir.path() + "/second/results.sarif"));
  std::set<std::string> sarif_prints;
  for (const json& res : sarif["runs"][0]["results"]) {
    if (res["ruleId"] == "aftershock/inconclusive") continue;
    sarif_prints.insert(res["partialFingerprints"]["aftershockFinding/v1"].get<std::string>());
  }
  EXPECT_EQ(sarif_prints, fingerprints);
  // Each example's recover and deliver output is kept in --out and named.
  int logs = 0;
  for (const json& s : again["scenarios"]) {
    for (const json& m : s["models"]) {
      for (const json& g : m["groups"]) {
        std::string log = g["example_log"].get<std::string>();
        if (log.empty()) continue;
        ++logs;
        EXPECT_EQ(log.rfind("logs/" + s["name"].get<std::string>() + "/", 0), 0u) << log;
        EXPECT_TRUE(std::filesystem::exists(dir.path() + "/second/" + log)) << log;
      }
    }
  }
  EXPECT_GT(logs, 0);
}

}  // namespace
}  // namespace aftershock::testing
