// Findings end to end (reports/findings.h): the refqueue bug variants, run
// together as a user would run them, give one finding per variant that
// loses mail, none for the variants whose only fault is an allowed
// duplicate, and the same fingerprints on a second run in other folders.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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
  // Each finding blames the function the variant changed (culprit_frame.h):
  // not queue/fs.cc's helpers, but the caller that decided the change.
  // no-dir-fsync's scenario delivers after its enqueue: the fan-out's sync
  // of the queue directory shows that CommitQueueFile leaves directory syncs
  // to its callers, so Enqueue, which skipped it, is blamed.
  const std::map<std::string, std::string> kBlamed = {
      {"bug-ack-before-fsync", "refqueue::CommitQueueFile"},
      {"bug-no-fsync-before-chmod", "refqueue::CommitQueueFile"},
      {"bug-chmod-before-last-write", "refqueue::CommitQueueFile"},
      {"bug-no-dir-fsync", "refqueue::Enqueue"},
      {"bug-done-before-delivery", "refqueue::(anonymous namespace)::DeliverBatch"},
      {"bug-maildir-link-before-fsync", "refqueue::MaildirDeliver"},
      {"bug-no-fsync-new", "refqueue::MaildirDeliver"},
      {"bug-hardlink-unlink-before-dirsync", "RollForwardHardlink"},
      {"bug-workfile-unlink-first", "RollForwardWorkfile"},
      {"bug-stale-ignores-age", "refqueue::(anonymous namespace)::RemoveStale"},
  };
  for (const json& f : report["findings"]) {
    std::string scenario = f["scenarios"][0].get<std::string>();
    const json& place = f["places"][0];
    const json* group = nullptr;
    for (const json& s : report["scenarios"]) {
      if (s["name"] != scenario) continue;
      for (const json& m : s["models"]) {
        if (m["model"] == place["model"]) group = &m["groups"][place["group"].get<size_t>()];
      }
    }
    ASSERT_NE(group, nullptr) << scenario;
    const json& culprit = (*group)["evidence"]["culprit"];
    std::string function = culprit["function"].get<std::string>();
    ASSERT_TRUE(kBlamed.count(scenario)) << scenario;
    const std::string& want = kBlamed.at(scenario);
    EXPECT_TRUE(function == want || function.rfind(want + "(", 0) == 0)
        << scenario << ": " << culprit.dump(1);
    EXPECT_EQ(culprit["file"].get<std::string>().find("/queue/fs.cc"), std::string::npos);
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

// A function that creates names and leaves their directory fsync to its
// callers (refqueue's CommitQueueFile: the delivery's fan-out syncs the
// queue directory after it) is not blamed for the caller that skipped it.
TEST(Findings, ADirectorySyncLeftToCallersIsBlamedOnTheCallerThatSkippedIt) {
  ScratchDir dir;
  std::string scenario = dir.path() + "/no-dir-fsync-deliver.toml";
  std::ofstream(scenario) << "description = \"no-dir-fsync, then a delivery\"\n"
                          << "target = \"" << AFTERSHOCK_SOURCE_DIR << "/targets/refqueue.toml\"\n"
                          << "models = [\"posix\"]\n"
                          << "[env]\nREFQUEUE_BUG = \"no-dir-fsync\"\n"
                          << "[[step]]\nkind = \"enqueue\"\nrcpts = [\"alice@local\"]\n"
                          << "[[step]]\nkind = \"deliver\"\n"
                          << "[expect]\nviolation = \"lost\"\n";
  Result r = Aftershock("run " + scenario + " --out " + dir.path() + "/out");
  ASSERT_EQ(r.status, 0) << r.output;
  json report = json::parse(ReadText(dir.path() + "/out/report.json"));
  ASSERT_EQ(report["findings"].size(), 1u) << r.output;
  EXPECT_EQ(report["findings"][0]["key"].get<std::string>().substr(
                report["findings"][0]["key"].get<std::string>().rfind('|') + 1),
            "enqueue.cc refqueue::Enqueue")
      << report["findings"][0].dump(1);
}

}  // namespace
}  // namespace aftershock::testing
