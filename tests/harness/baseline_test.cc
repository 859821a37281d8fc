// The baseline stage end to end: a target that acknowledges nothing, hangs,
// crashes or loses mail without any crash is never explored, never passes,
// and says which command did what, with its output.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock::testing {
namespace {

// A sink target whose enqueue and deliver are these shell commands.
std::string Manifest(const ScratchDir& dir, const std::string& enqueue,
                     const std::string& deliver = "true", const std::string& init = "",
                     const std::string& recover = "") {
  return dir.Write("m.toml", "name = \"broken\"\n[commands]\n" +
                                 (init.empty() ? "" : "init = \"" + init + "\"\n") +
                                 (recover.empty() ? "" : "recover = \"" + recover + "\"\n") +
                                 "enqueue = \"" + enqueue + "\"\ndeliver = \"" + deliver +
                                 "\"\ntimeout_s = 2\n[mailbox]\nkind = \"sink\"\n");
}

// True iff `text` names a path inside a run directory (/dev/shm/aftershock-PID-HEX/),
// which is gone once the run ends.
bool NamesAScratchPath(const std::string& text) {
  const std::string run = "/dev/shm/aftershock-";
  for (size_t at = text.find(run); at != std::string::npos; at = text.find(run, at + 1)) {
    char next = at + run.size() < text.size() ? text[at + run.size()] : ' ';
    if (next >= '0' && next <= '9') return true;
  }
  return false;
}

struct Checked {
  Result result;
  nlohmann::json report;
  std::string summary;
  std::string junit;
};

Checked Check(const ScratchDir& dir, const std::string& manifest) {
  Checked c;
  c.result = Aftershock("check --target " + manifest + " --out " + dir.path() + "/out -j 1");
  std::string json = ReadText(dir.path() + "/out/report.json");
  if (!json.empty()) c.report = nlohmann::json::parse(json);
  c.summary = ReadText(dir.path() + "/out/summary.md");
  c.junit = ReadText(dir.path() + "/out/junit.xml");
  return c;
}

// Exit 2, the reason in every output, and nothing explored after the first
// scenario (the run stops there).
void ExpectBaselineFailure(const Checked& c, const std::string& reason) {
  EXPECT_EQ(c.result.status, 2) << c.result.output;
  EXPECT_NE(c.result.output.find("baseline: "), std::string::npos) << c.result.output;
  EXPECT_NE(c.result.output.find(reason), std::string::npos) << c.result.output;
  ASSERT_TRUE(c.report.contains("scenarios")) << c.result.output;
  ASSERT_EQ(c.report["scenarios"].size(), 1u);
  const auto& s = c.report["scenarios"][0];
  EXPECT_NE(s["error"].get<std::string>().find(reason), std::string::npos);
  EXPECT_TRUE(s["models"].empty());
  EXPECT_NE(c.summary.find(reason), std::string::npos) << c.summary;
  EXPECT_NE(c.junit.find("baseline: "), std::string::npos) << c.junit;
  EXPECT_FALSE(NamesAScratchPath(c.result.output)) << c.result.output;
}

TEST(Baseline, EnqueueThatDoesNotExistIsNotAcknowledgedAndShowsItsStderr) {
  ScratchDir dir;
  Checked c = Check(dir, Manifest(dir, "no-such-enqueue-cmd"));
  ExpectBaselineFailure(c, "exited 127: the message was not acknowledged");
  EXPECT_NE(c.result.output.find("no-such-enqueue-cmd: not found"), std::string::npos);
  // The whole output is kept in the out directory, under the name the message gives.
  EXPECT_NE(ReadText(dir.path() + "/out/logs/check-single/baseline.log").find("not found"),
            std::string::npos);
}

TEST(Baseline, EnqueueThatExits1ForEveryMessageIsNotAcknowledged) {
  ScratchDir dir;
  ExpectBaselineFailure(Check(dir, Manifest(dir, "cat >/dev/null; echo queue full >&2; exit 1")),
                        "exited 1: the message was not acknowledged");
}

TEST(Baseline, EnqueueThatHangsTimesOutAndTheRunStopsThere) {
  ScratchDir dir;
  Checked c = Check(dir, Manifest(dir, "cat >/dev/null; sleep 1000"));
  ExpectBaselineFailure(c, "timed out after 2 s");
}

TEST(Baseline, EnqueueThatSegfaultsIsKilledBySignal) {
  ScratchDir dir;
  ExpectBaselineFailure(Check(dir, Manifest(dir, "cat >/dev/null; kill -SEGV $$")),
                        "was killed by signal 11");
}

TEST(Baseline, DeliverThatNeverDeliversLosesMailWithoutACrash) {
  ScratchDir dir;
  // Acknowledged (the message is kept), never handed to the sink.
  Checked c = Check(dir, Manifest(dir, "cat > msg.$AFTERSHOCK_ID"));
  ExpectBaselineFailure(c, "the acknowledged mail was not delivered intact (lost: lost m1");
}

TEST(Baseline, RecoveryThatHangsWithoutAnyCrashIsABrokenTarget) {
  ScratchDir dir;
  // shellq delivers correctly, but this recovery never returns, even on the
  // state a clean run leaves: every crash state would be "recovery-failed"
  // for a reason no crash caused.
  const std::string q = std::string("sh ") + AFTERSHOCK_SOURCE_DIR + "/targets/test/shellq.sh";
  Checked c = Check(dir, Manifest(dir, q + " enqueue", q + " deliver", q + " init", "sleep 300"));
  ExpectBaselineFailure(c, "recover timed out after 2 s");
}

TEST(Baseline, FailingInitShowsItsOutputAndExits2) {
  ScratchDir dir;
  Result r = Aftershock("check --target " +
                        Manifest(dir, "cat", "true", "echo cannot make spool >&2; exit 3") +
                        " --out " + dir.path() + "/out");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("init failed (exit 3)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cannot make spool"), std::string::npos) << r.output;
  EXPECT_FALSE(NamesAScratchPath(r.output)) << r.output;
}

}  // namespace
}  // namespace aftershock::testing
