// The aftershock binary end to end on small targets: bad input exits 2 with
// file:line:column and no output; hanging and crashing recoveries are
// verdicts, not a hung harness; a bug is found; scratch never outlives a run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using testing::Aftershock;
using testing::ReadText;
using testing::RecordSupported;
using testing::RefqueueBuilt;
using testing::Result;
using testing::ScratchDir;
using testing::Shell;

std::string Target(const std::string& name) {
  return std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/" + name;
}

// A two-message scenario against `target`, with extra TOML appended.
std::string Scenario(const ScratchDir& dir, const std::string& target, const std::string& extra) {
  return dir.Write("s.toml", "target = \"" + target + "\"\nmodels = [\"process\"]\n" + extra +
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
)");
}

nlohmann::json Report(const ScratchDir& dir) {
  return nlohmann::json::parse(ReadText(dir.path() + "/out/report.json"));
}

int64_t Count(const nlohmann::json& report, const char* verdict) {
  // at(), not []: a report without the key fails the test (json::out_of_range)
  // instead of reading through a null.
  return report.at("scenarios").at(0).at("models").at(0).at("verdicts").at(verdict).get<int64_t>();
}

TEST(Cli, CorrectQueuePassesAndWritesEveryReport) {
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/shellq.toml"), "");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -j 2");
  EXPECT_EQ(r.status, 0) << r.output;
  nlohmann::json j = Report(dir);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["passed"], true);
  EXPECT_GT(j["scenarios"][0]["models"][0]["states_explored"].get<int>(), 1);
  EXPECT_EQ(Count(j, "lost"), 0);
  EXPECT_TRUE(fs::exists(dir.path() + "/out/junit.xml"));
  EXPECT_TRUE(fs::exists(dir.path() + "/out/summary.md"));
  EXPECT_NE(r.output.find("scenario"), std::string::npos);  // the summary table
}

TEST(Cli, PlantedBugIsLostMailAndFailsTheRun) {
  ScratchDir dir;
  std::string s =
      Scenario(dir, Target("test/shellq.toml"), "[env]\nSHELLQ_BUG = \"recover-deletes\"\n");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 1) << r.output;
  nlohmann::json j = Report(dir);
  EXPECT_GT(Count(j, "lost"), 0);
  auto groups = j["scenarios"][0]["models"][0]["groups"];
  ASSERT_FALSE(groups.empty());
  EXPECT_NE(groups[0]["reproduce"].get<std::string>().find("aftershock replay"), std::string::npos);
  EXPECT_NE(ReadText(dir.path() + "/out/junit.xml").find("<failure"), std::string::npos);
}

TEST(Cli, ExpectedViolationPasses) {
  ScratchDir dir;
  std::string s =
      Scenario(dir, Target("test/shellq.toml"),
               "[env]\nSHELLQ_BUG = \"recover-deletes\"\n[expect]\nviolation = \"lost\"\n");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Cli, DuplicatesAreCountedAndLimitedByTheRate) {
  ScratchDir dir;
  std::string s =
      Scenario(dir, Target("test/shellq.toml"),
               "[env]\nSHELLQ_BUG = \"double-deliver\"\n[expect]\nmax_duplicate_rate = 0.01\n");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 1) << r.output;
  nlohmann::json j = Report(dir);
  EXPECT_GT(Count(j, "duplicate"), 0);
  EXPECT_EQ(Count(j, "lost"), 0);
  EXPECT_GT(j["scenarios"][0]["models"][0]["duplicate_rate"].get<double>(), 0.0);
}

TEST(Cli, HangingRecoveryIsRecoveryFailedAndTheRunEnds) {
  ScratchDir dir;
  // Few states: each costs the 1 s timeout.
  std::string s = Scenario(dir, Target("test/hang.toml"), "max_states = 12\n");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q -j 2");
  ASSERT_EQ(r.status, 1) << r.output;
  nlohmann::json j = Report(dir);
  EXPECT_GT(Count(j, "recovery-failed"), 0);
  EXPECT_NE(j.dump().find("timed out"), std::string::npos);
  // Each group's example names a file in --out with what the commands
  // printed before the timeout, and how each ended.
  int logs = 0;
  for (const auto& g : j["scenarios"][0]["models"][0]["groups"]) {
    if (g["verdict"] != "recovery-failed") continue;
    std::string log = g.value("example_log", "");
    ASSERT_FALSE(log.empty()) << g.dump(1);
    std::string text = ReadText(dir.path() + "/out/" + log);
    EXPECT_NE(text.find("hang.toml: stuck on incoming/"), std::string::npos) << text;
    EXPECT_NE(text.find("[recover: timeout]"), std::string::npos) << text;
    ++logs;
  }
  EXPECT_GT(logs, 0) << j.dump(1);
}

TEST(Cli, CrashingRecoveryIsRecoveryFailed) {
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/crash.toml"), "");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  ASSERT_EQ(r.status, 1) << r.output;
  nlohmann::json j = Report(dir);
  EXPECT_GT(Count(j, "recovery-failed"), 0);
  EXPECT_NE(j.dump().find("signal 11"), std::string::npos);
}

TEST(Cli, MaildirDeliveriesAreRead) {
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/maildir.toml"), "");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_GT(Count(Report(dir), "ok"), 0);
}

TEST(Cli, WriteOutsideTheRootIsAnInputError) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/escape.toml"), "");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("outside its root"), std::string::npos) << r.output;
}

TEST(Cli, MalformedScenarioExits2WithPositionAndNoOutput) {
  ScratchDir dir;
  std::string s =
      dir.Write("bad.toml", "target = \"x.toml\"\n[[step]]\nkind = \"deliver\"\nwhen = 3\n");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find(s + ":4:1: unknown key 'when'"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/out"));
}

// AFTERSHOCK_SCRATCH moves the run directories (docs/cli.md); a value that
// is no absolute directory is bad input, said before anything runs.
TEST(Cli, ScratchBaseFromTheEnvironment) {
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/shellq.toml"), "");
  Result bad = testing::Shell("AFTERSHOCK_SCRATCH=relative/dir " AFTERSHOCK_EXE " run " + s +
                              " --out " + dir.path() + "/bad");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("relative/dir (AFTERSHOCK_SCRATCH)"), std::string::npos)
      << bad.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/bad"));
  fs::create_directories(dir.path() + "/base");
  Result good = testing::Shell("AFTERSHOCK_SCRATCH=" + dir.path() + "/base " AFTERSHOCK_EXE
                               " run " + s + " --keep-states -q --out " + dir.path() + "/good");
  EXPECT_EQ(good.status, 0) << good.output;
  bool used = false;  // the kept run directory is under the base
  for (const auto& e : fs::directory_iterator(dir.path() + "/base")) {
    used |= e.path().filename().string().rfind("aftershock-", 0) == 0;
  }
  EXPECT_TRUE(used);
}

TEST(Cli, MalformedManifestExits2WithPositionAndNoOutput) {
  ScratchDir dir;
  std::string m =
      dir.Write("m.toml", "name = \"q\"\n[commands]\nenqueue = \"cat\"\ndrain_rounds = 0\n");
  std::string s = Scenario(dir, m, "");
  Result r = Aftershock("run " + s + " --out " + dir.path() + "/out");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find(m + ":4:16: 'drain_rounds' must be between 1 and 1000"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/out"));
}

TEST(Cli, FailingInitIsAnInputError) {
  ScratchDir dir;
  std::string m =
      dir.Write("m.toml", "name = \"q\"\n[commands]\ninit = \"exit 3\"\nenqueue = \"cat\"\n");
  Result r = Aftershock("run " + Scenario(dir, m, "") + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("init failed"), std::string::npos) << r.output;
}

// A scenario whose workload cannot be recorded is an error of its own: the
// run goes on, and the next scenario is not blamed for it.
TEST(Cli, AScenarioErrorDoesNotSpillIntoTheNextScenario) {
  ScratchDir dir;
  std::string m =
      dir.Write("m.toml", "name = \"q\"\n[commands]\ninit = \"exit 3\"\nenqueue = \"cat\"\n");
  std::string broken = dir.path() + "/broken.toml";
  fs::rename(Scenario(dir, m, "name = \"broken\"\n"), broken);
  std::string good = Scenario(dir, Target("test/shellq.toml"), "name = \"good\"\n");
  Result r = Aftershock("run " + broken + " " + good + " --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 2) << r.output;
  nlohmann::json j = Report(dir);
  ASSERT_EQ(j.at("scenarios").size(), 2u) << r.output;
  EXPECT_NE(j["scenarios"][0].at("error").get<std::string>().find("init failed"), std::string::npos)
      << r.output;
  EXPECT_EQ(j["scenarios"][1].at("error"), "") << r.output;
  EXPECT_EQ(j["scenarios"][1].at("models").size(), 1u) << r.output;
}

TEST(Cli, UnknownOptionIsAUsageError) {
  EXPECT_EQ(Aftershock("run --frobnicate").status, 2);
  EXPECT_EQ(Aftershock("run --model ext5 x.toml").status, 2);
}

// The CLI asks the model which names it takes: every form of
// PersistenceModel::Parse, torn4096 among them.
TEST(Cli, RunAndCheckAcceptEveryModelTheModelParses) {
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/shellq.toml"), "");
  Result run =
      Aftershock("run " + s + " --model ext4-ordered+torn4096 --out " + dir.path() + "/out -q");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(run.output.find("unknown model"), std::string::npos) << run.output;
  // check validates its options the same way before it reads the target
  // (a missing one here, so that nothing runs).
  Result check =
      Aftershock("check --target " + dir.path() +
                 "/none.toml --model ext4-ordered+torn4096 --out " + dir.path() + "/out2 -q");
  EXPECT_EQ(check.output.find("unknown model"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("none.toml"), std::string::npos) << check.output;
  Result bad = Aftershock("check --target " + Target("test/shellq.toml") +
                          " --model process+torn4096 --out " + dir.path() + "/out3 -q");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("unknown model 'process+torn4096'"), std::string::npos) << bad.output;
}

TEST(Cli, EveryCommandHasHelp) {
  for (const char* c : {"run", "check", "replay"}) {
    Result r = Aftershock(std::string(c) + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_NE(r.output.find("--"), std::string::npos) << c;
  }
}

TEST(Cli, ReplayMaterializesTheStateAndPrintsItsCommands) {
  ScratchDir dir;
  std::string s =
      Scenario(dir, Target("test/shellq.toml"), "[env]\nSHELLQ_BUG = \"recover-deletes\"\n");
  ASSERT_EQ(Aftershock("run " + s + " --out " + dir.path() + "/out -q").status, 1);
  nlohmann::json j = Report(dir);
  std::string id = j["scenarios"][0]["models"][0]["groups"][0]["example_state"];
  Result r = Aftershock("replay " + dir.path() + "/out/report.json --state " + id + " --into " +
                        dir.path() + "/state");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir.path() + "/state/queue"));
  EXPECT_NE(r.output.find("shellq.sh recover"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("verdict lost"), std::string::npos) << r.output;
  EXPECT_EQ(Aftershock("replay " + dir.path() + "/out/report.json --state nope --into " +
                       dir.path() + "/x")
                .status,
            2);
}

TEST(Cli, CheckRunsTheBuiltInWorkloads) {
  ScratchDir dir;
  Result r = Aftershock("check --target " + Target("test/shellq.toml") + " --model process --out " +
                        dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_GE(Report(dir)["scenarios"].size(), 4u);
}

// The built-in concurrent workload (a restart beside an enqueue) is what
// exposes a recover that removes the file an enqueue is still writing.
TEST(Cli, CheckRunsStepsBesideEachOtherAndFindsStaleIgnoresAge) {
  if (!RecordSupported()) GTEST_SKIP() << "no recorder";
  ScratchDir dir;
  std::string args = "check --target " + Target("refqueue.toml") +
                     " --model process --model posix -j 2 -q --out " + dir.path() + "/out";
  Result ok = Aftershock(args);
  EXPECT_EQ(ok.status, 0) << ok.output;
  bool concurrent = false;
  nlohmann::json passed =
      Report(dir);  // a named object: range-for over a temporary's member dangles
  for (const auto& sc : passed["scenarios"]) concurrent |= sc["name"] == "check-concurrent";
  EXPECT_TRUE(concurrent);
  Result bad = Aftershock(args + " --env REFQUEUE_BUG=stale-ignores-age");
  EXPECT_EQ(bad.status, 1) << bad.output;
  nlohmann::json failed = Report(dir);
  std::string lost_id, lost_model;
  for (const auto& sc : failed["scenarios"]) {
    int64_t lost = 0;
    for (const auto& m : sc["models"]) {
      lost += m["verdicts"]["lost"].get<int64_t>();
      for (const auto& g : m["groups"]) {
        if (sc["name"] == "check-concurrent" && g["verdict"] == "lost" && lost_id.empty()) {
          lost_id = g["example_state"];
          lost_model = m["model"];
        }
      }
    }
    // Only steps run beside each other show this bug.
    if (sc["name"] == "check-concurrent") {
      EXPECT_GT(lost, 0) << sc.dump();
    } else {
      EXPECT_EQ(lost, 0) << sc.dump();
    }
  }
  // The report keeps --env, so replay rebuilds the very state (its hash
  // matches, exit 0) with the bug variant switched on.
  ASSERT_FALSE(lost_id.empty());
  Result replay = Aftershock("replay " + dir.path() + "/out/report.json --state " + lost_id +
                             " --scenario check-concurrent --model " + lost_model + " --into " +
                             dir.path() + "/state");
  EXPECT_EQ(replay.status, 0) << replay.output;
  EXPECT_NE(replay.output.find("export REFQUEUE_BUG='stale-ignores-age'"), std::string::npos)
      << replay.output;
  EXPECT_EQ(Aftershock(args + " --env NOEQUALS").status, 2);
}

TEST(Cli, CheckSkipsTheConcurrentWorkloadForADaemonWithANote) {
  ScratchDir dir;
  Result r = Aftershock("check --target " + Target("test/daemonq.toml") +
                        " --model process -j 2 --out " + dir.path() + "/out");
  EXPECT_NE(r.output.find("check-concurrent skipped: test-daemonq is a daemon-mode target"),
            std::string::npos)
      << r.output;
  nlohmann::json report = Report(dir);
  for (const auto& sc : report["scenarios"]) EXPECT_NE(sc["name"], "check-concurrent");
  EXPECT_EQ(report["scenarios"].size(), 4u);
}

TEST(Cli, SigtermRemovesTheRunDirectory) {
  ScratchDir dir;
  std::string s = Scenario(dir, Target("test/hang.toml"), "");
  pid_t pid = fork();
  if (pid == 0) {
    execl(AFTERSHOCK_EXE, AFTERSHOCK_EXE, "run", s.c_str(), "--out", (dir.path() + "/out").c_str(),
          "-q", "-j", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string prefix = "aftershock-" + std::to_string(pid) + "-";
  auto run_dirs = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/dev/shm")) {
      n += e.path().filename().string().rfind(prefix, 0) == 0;
    }
    return n;
  };
  // Wait until the run directory exists (the hang target's recovery then
  // keeps the run busy for seconds).
  for (int i = 0; i < 200 && run_dirs() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(run_dirs(), 1);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
  EXPECT_EQ(run_dirs(), 0);
}

std::string ShippedScenario(const std::string& name) {
  return std::string(AFTERSHOCK_SOURCE_DIR) + "/scenarios/" + name + ".toml";
}

TEST(Refqueue, FanOutScenarioShowsNoViolation) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "needs refqueue and the injector";
  ScratchDir dir;
  Result r = Aftershock("run " + ShippedScenario("fanout-workfile") +
                        " --model process --model posix+torn --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
  nlohmann::json j = Report(dir);
  for (const auto& m : j["scenarios"][0]["models"]) {
    EXPECT_GT(m["states_unique"].get<int>(), 5) << m["model"];
    for (const char* v : {"lost", "corrupt", "phantom", "recovery-failed"}) {
      EXPECT_EQ(m["verdicts"][v].get<int>(), 0) << m["model"] << " " << v;
    }
  }
}

TEST(Refqueue, BugVariantScenarioShowsItsViolation) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "needs refqueue and the injector";
  ScratchDir dir;
  Result r = Aftershock("run " + ShippedScenario("bug-workfile-unlink-first") + " --out " +
                        dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;  // the violation is expected
  EXPECT_GT(Count(Report(dir), "lost"), 0);
  // The same scenario against the correct queue fails its expectation.
  std::string text = ReadText(ShippedScenario("bug-workfile-unlink-first"));
  const std::string bug = "REFQUEUE_BUG = \"workfile-unlink-first\"";
  text.replace(text.find(bug), bug.size(), "REFQUEUE_BUG = \"\"");
  text.replace(text.find("../targets/"), 11, std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/");
  std::string correct = dir.Write("correct.toml", text);
  ScratchDir dir2;
  r = Aftershock("run " + correct + " --out " + dir2.path() + "/out -q");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_EQ(Count(Report(dir2), "lost"), 0);
}

TEST(Refqueue, CrashDuringRecoveryIsExplored) {
  if (!RefqueueBuilt()) GTEST_SKIP() << "needs refqueue and the injector";
  ScratchDir dir;
  Result r = Aftershock("run " + ShippedScenario("bug-recover-not-idempotent") +
                        " --nested 1 --out " + dir.path() + "/out -q");
  EXPECT_EQ(r.status, 0) << r.output;
  std::string json = ReadText(dir.path() + "/out/report.json");
  EXPECT_NE(json.find("crash in the recovery of"), std::string::npos);
}

TEST(Sink, AppendsTheCopyAndExitsZero) {
  ScratchDir dir;
  std::string msg = dir.Write("msg", "X-Aftershock-Id: m1\n\nhello");
  std::string log = dir.path() + "/sink.log";
  std::string cmd = "AFTERSHOCK_SINK_LOG=" + log +
                    " AFTERSHOCK_TRACE= " AFTERSHOCK_SINK_EXE " a@local b@remote < " + msg;
  EXPECT_EQ(system(cmd.c_str()), 0);
  EXPECT_EQ(system(cmd.c_str()), 0);
  std::string text = ReadText(log);
  EXPECT_EQ(text.find("AFTERSHOCK-SINK 26 "), 0u) << text;
  EXPECT_NE(text.find(" a@local b@remote\nX-Aftershock-Id: m1\n\nhello\n"), std::string::npos);
}

// True iff the ELF file at path has no PT_INTERP program header.
bool HasNoInterpreter(const std::string& path) {
  std::string elf = ReadText(path);
  if (elf.size() < 64 || elf.compare(0, 4, "\x7f" "ELF") != 0) return false;
  uint64_t phoff = 0;
  uint16_t phentsize = 0, phnum = 0;
  std::memcpy(&phoff, elf.data() + 32, 8);
  std::memcpy(&phentsize, elf.data() + 54, 2);
  std::memcpy(&phnum, elf.data() + 56, 2);
  for (uint16_t i = 0; i < phnum; ++i) {
    uint32_t type = 0;
    if (phoff + uint64_t{i} * phentsize + 4 > elf.size()) return false;
    std::memcpy(&type, elf.data() + phoff + uint64_t{i} * phentsize, 4);
    if (type == 3) return false;  // PT_INTERP: dynamically linked
  }
  return true;
}

// The models of refqueue's single-message scenario, run with `jobs`.
nlohmann::json SingleMessageModels(const ScratchDir& dir, int jobs) {
  Result r = Aftershock("run " AFTERSHOCK_SOURCE_DIR "/scenarios/single-message.toml --out " +
                        dir.path() + "/out -j " + std::to_string(jobs));
  EXPECT_EQ(r.status, 0) << r.output;
  return r.status == 0 ? Report(dir)["scenarios"][0]["models"] : nlohmann::json::array();
}

// The sink runs once per delivered copy: it is built static (outside the
// sanitizer build), and the recorder takes its exec for no gap, so every
// state of a workload with deliveries is still proven.
TEST(Sink, IsStaticAndLeavesEveryStateProven) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr bool kStaticSink = false;  // the sanitizer build links it dynamically
#else
  constexpr bool kStaticSink = true;
#endif
  EXPECT_EQ(HasNoInterpreter(AFTERSHOCK_SINK_EXE), kStaticSink);
  ScratchDir dir;
  nlohmann::json models = SingleMessageModels(dir, 2);
  ASSERT_FALSE(models.empty());
  for (const auto& m : models) {
    EXPECT_GT(m["states_explored"].get<int>(), 1) << m["model"];
    EXPECT_EQ(m["states_unproven"].get<int>(), 0) << m["model"];
  }
}

// refqueue fsyncs: the crash points right after its syncs are pruned
// (model/crash_states.h) and counted in report.json, per model.
TEST(Cli, PrunedCrashPointsAreCounted) {
  ScratchDir dir;
  nlohmann::json models = SingleMessageModels(dir, 1);
  ASSERT_FALSE(models.empty());
  for (const auto& m : models) EXPECT_GT(m["crash_points_pruned"].get<int>(), 0) << m["model"];
}

TEST(Sink, WithoutLogOrRecipientsItRefuses) {
  EXPECT_NE(system("env -u AFTERSHOCK_SINK_LOG " AFTERSHOCK_SINK_EXE " a@b </dev/null"), 0);
  EXPECT_NE(system("AFTERSHOCK_SINK_LOG=/dev/null " AFTERSHOCK_SINK_EXE " </dev/null"), 0);
}

}  // namespace
}  // namespace aftershock
