// Manifest and scenario parsing: valid files load, and every bad one is an
// error naming file:line:column.
#include <gtest/gtest.h>

#include <tuple>

#include "harness/target/command_env.h"
#include "harness/target/manifest.h"
#include "harness/target/scenario.h"
#include "injector/faults.h"
#include "injector/launch.h"
#include "model/crash_states.h"
#include "model/persistence.h"
#include "reports/verdict.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::ScratchDir;

constexpr char kGoodManifest[] = R"(name = "q"
[commands]
init = "mkdir -p a"
enqueue = "cat > a/{id}"
deliver = "true"
recover = "true"
timeout_s = 4
drain_rounds = 2
[mailbox]
kind = "maildir"
path = "mail/{rcpt}"
[env]
Q_MODE = "fast"
)";

std::string ManifestError(const std::string& text) {
  ScratchDir dir;
  std::string path = dir.Write("m.toml", text);
  Manifest m;
  Status st = LoadManifest(path, &m);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind(path + ":", 0), 0u) << st.message();
  return st.message().substr(path.size());
}

std::string ScenarioError(const std::string& text) {
  ScratchDir dir;
  std::string path = dir.Write("s.toml", text);
  Scenario s;
  Status st = LoadScenario(path, &s);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message().rfind(path + ":", 0), 0u) << st.message();
  return st.message().substr(path.size());
}

TEST(Manifest, ValidManifestLoadsEveryField) {
  ScratchDir dir;
  std::string path = dir.Write("m.toml", kGoodManifest);
  Manifest m;
  Status st = LoadManifest(path, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(m.name, "q");
  EXPECT_EQ(m.enqueue, "cat > a/{id}");
  EXPECT_EQ(m.timeout_s, 4);
  EXPECT_EQ(m.drain_rounds, 2);
  EXPECT_EQ(m.mailbox_kind, MailboxKind::kMaildir);
  EXPECT_EQ(m.mailbox_path, "mail/{rcpt}");
  ASSERT_EQ(m.env.size(), 1u);
  EXPECT_EQ(m.env[0], std::make_pair(std::string("Q_MODE"), std::string("fast")));
  EXPECT_EQ(m.dir, dir.path());
}

TEST(Manifest, MboxMailboxLoadsWithItsPath) {
  ScratchDir dir;
  std::string path = dir.Write("m.toml",
                               "name = \"q\"\n[commands]\nenqueue = \"c\"\n[mailbox]\n"
                               "kind = \"mbox\"\npath = \"mail/{rcpt}\"\n");
  Manifest m;
  Status st = LoadManifest(path, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(m.mailbox_kind, MailboxKind::kMbox);
  EXPECT_EQ(m.mailbox_path, "mail/{rcpt}");
  EXPECT_TRUE(m.mailbox_in_root());
}

TEST(Manifest, SyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(ManifestError("name = \"q\"\n[commands]\nenqueue = \"cat\n").substr(0, 6), ":3:15:");
}

TEST(Manifest, UnknownKeyIsAnErrorAtThatKey) {
  EXPECT_EQ(ManifestError("name = \"q\"\n[commands]\nenqueue = \"cat\"\n  timeout = 3\n"),
            ":4:3: unknown key 'timeout'");
}

TEST(Manifest, MissingEnqueueIsAnError) {
  EXPECT_NE(ManifestError("name = \"q\"\n[commands]\ndeliver = \"x\"\n").find("enqueue"),
            std::string::npos);
}

TEST(Manifest, BadNameIsAnErrorAtTheValue) {
  EXPECT_EQ(ManifestError("name = \"Q Q\"\n[commands]\nenqueue = \"cat\"\n"),
            ":1:8: 'name' must match [a-z0-9._-]+");
}

TEST(Manifest, WrongTypeIsAnErrorAtTheValue) {
  EXPECT_EQ(ManifestError("name = \"q\"\n[commands]\nenqueue = \"cat\"\ntimeout_s = \"10\"\n"),
            ":4:13: 'timeout_s' must be an integer");
}

TEST(Manifest, ForkServerIsOnByDefaultOffOrDeferred) {
  ScratchDir dir;
  const std::string head = "name = \"q\"\n[commands]\nenqueue = \"c\"\n";
  for (const auto& [line, on, deferred] :
       {std::tuple{std::string(), true, false},
        std::tuple{std::string("fork_server = false\n"), false, false},
        std::tuple{std::string("fork_server = \"deferred\"\n"), true, true}}) {
    Manifest m;
    Status st = LoadManifest(dir.Write("m.toml", head + line), &m);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(m.fork_server, on) << line;
    EXPECT_EQ(m.fork_server_deferred, deferred) << line;
  }
  EXPECT_EQ(ManifestError(head + "fork_server = \"later\"\n"),
            ":4:15: 'fork_server' must be true, false or \"deferred\"");
}

TEST(Manifest, MaildirWithoutPathIsAnError) {
  EXPECT_NE(ManifestError("name = \"q\"\n[commands]\nenqueue = \"c\"\n[mailbox]\nkind = "
                          "\"maildir\"\n")
                .find("requires 'path'"),
            std::string::npos);
}

TEST(Manifest, UnknownMailboxKindIsAnError) {
  EXPECT_EQ(ManifestError("name = \"q\"\n[commands]\nenqueue = \"c\"\n[mailbox]\nkind = \"mh\"\n"),
            ":5:8: 'kind' must be \"sink\", \"maildir\" or \"mbox\"");
}

TEST(Manifest, MboxWithoutPathIsAnError) {
  EXPECT_NE(ManifestError("name = \"q\"\n[commands]\nenqueue = \"c\"\n[mailbox]\nkind = \"mbox\"\n")
                .find("kind = \"mbox\" requires 'path'"),
            std::string::npos);
}

TEST(Manifest, UnknownPlaceholderIsAnError) {
  EXPECT_EQ(ManifestError("name = \"q\"\n[commands]\nenqueue = \"cat > {rot}/x\"\n"),
            ":3:11: unknown placeholder {rot}");
}

TEST(Manifest, NonStringEnvValueIsAnError) {
  EXPECT_EQ(ManifestError("name = \"q\"\n[commands]\nenqueue = \"c\"\n[env]\nA = 1\n"),
            ":5:5: 'env.A' must be a string");
}

constexpr char kGoodScenario[] = R"(name = "two"
target = "t/m.toml"
models = ["process", "posix+torn"]
strategy = "prefix"
seed = 7
[env]
X = "1"
[[step]]
kind = "enqueue"
rcpts = ["a@local", "b@remote"]
body_size = 512
[[step]]
kind = "enqueue"
count = 2
rcpts = ["c@local"]
[[step]]
kind = "tick"
seconds = 60
[[step]]
kind = "deliver"
[[fault]]
action = "fail"
point = "posix/io/sync/fsync"
nth = 3
errno = "EIO"
during = "enqueue"
[expect]
max_duplicate_rate = 0.25
violation = "lost"
violation_models = ["posix+torn"]
)";

TEST(Scenario, ValidScenarioLoadsEveryField) {
  ScratchDir dir;
  std::string path = dir.Write("s.toml", kGoodScenario);
  Scenario s;
  Status st = LoadScenario(path, &s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.name, "two");
  EXPECT_EQ(s.target, dir.path() + "/t/m.toml");
  EXPECT_EQ(s.models, (std::vector<std::string>{"process", "posix+torn"}));
  EXPECT_EQ(s.strategy, "prefix");
  EXPECT_EQ(s.seed, 7u);
  ASSERT_EQ(s.steps.size(), 5u);
  EXPECT_EQ(s.steps[0].id, "m1");
  EXPECT_EQ(s.steps[0].body_size, 512u);
  EXPECT_EQ(s.steps[1].id, "m2");
  EXPECT_EQ(s.steps[2].id, "m3");
  EXPECT_EQ(s.steps[3].MarkData(), "tick 60");
  EXPECT_EQ(s.steps[4].MarkData(), "deliver");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].Spec(), "fail posix/io/sync/fsync nth=3 errno=EIO");
  EXPECT_TRUE(s.faults[0].AppliesTo(0, StepKind::kEnqueue));
  EXPECT_FALSE(s.faults[0].AppliesTo(4, StepKind::kDeliver));
  EXPECT_DOUBLE_EQ(s.expect.max_duplicate_rate, 0.25);
  EXPECT_TRUE(s.expect.ViolationExpectedUnder("posix+torn"));
  EXPECT_FALSE(s.expect.ViolationExpectedUnder("process"));
}

TEST(Scenario, SyntaxErrorNamesLineAndColumn) {
  EXPECT_EQ(ScenarioError("target = \"m.toml\"\n[[step]]\nkind = = \"deliver\"\n").substr(0, 5),
            ":3:8:");
}

TEST(Scenario, UnknownKeyInAStepIsAnError) {
  EXPECT_EQ(ScenarioError("target = \"m\"\n[[step]]\nkind = \"enqueue\"\nrcpts = [\"a@b\"]\n"
                          "size = 3\n"),
            ":5:1: unknown key 'size'");
}

TEST(Scenario, UnknownModelIsAnErrorAtTheElement) {
  EXPECT_EQ(ScenarioError("target = \"m\"\nmodels = [\"posix\", \"ext5\"]\n[[step]]\nkind = "
                          "\"deliver\"\n"),
            std::string(":2:20: unknown model 'ext5' (") + PersistenceModel::kNamesHelp + ")");
}

// The scenario parser asks the model: every form PersistenceModel::Parse
// takes is a scenario model.
TEST(Scenario, EveryModelTheModelParsesIsAccepted) {
  ScratchDir dir;
  for (const char* m : {"process", "posix", "posix+torn", "posix+torn512", "posix+torn4096",
                        "ext4-ordered", "ext4-ordered+torn", "ext4-ordered+torn4096"}) {
    std::string path = dir.Write("s.toml", std::string("target = \"m\"\nmodels = [\"") + m +
                                               "\"]\n[[step]]\nkind = \"deliver\"\n");
    Scenario s;
    Status st = LoadScenario(path, &s);
    EXPECT_TRUE(st.ok()) << m << ": " << st.message();
  }
  EXPECT_FALSE(IsKnownModel("process+torn"));
}

TEST(Scenario, EveryStrategyAndVerdictOfTheirOwnersIsAccepted) {
  for (Strategy st : kStrategies) EXPECT_TRUE(IsKnownStrategy(StrategyName(st)));
  for (std::string_view v : kVerdictNames) EXPECT_TRUE(IsKnownVerdictName(std::string(v)));
  EXPECT_FALSE(IsKnownStrategy("bisect"));
  EXPECT_FALSE(IsKnownVerdictName("fine"));
}

std::string FaultScenario(const std::string& point, const std::string& err) {
  return "target = \"m.toml\"\n[[step]]\nkind = \"deliver\"\n[[fault]]\naction = \"fail\"\n"
         "point = \"" +
         point + "\"\nerrno = \"" + err + "\"\n";
}

// Iterates the injector's own list: a name added there is a scenario errno.
TEST(Scenario, EveryErrnoTheInjectorAcceptsIsAccepted) {
  ScratchDir dir;
  ASSERT_GT(inject::kErrnoNameCount, 10u);
  for (size_t i = 0; i < inject::kErrnoNameCount; ++i) {
    const char* name = inject::kErrnoNames[i].name;
    std::string path = dir.Write("s.toml", FaultScenario("posix/io/sync/fsync", name));
    Scenario s;
    Status st = LoadScenario(path, &s);
    EXPECT_TRUE(st.ok()) << name << ": " << st.message();
  }
  EXPECT_EQ(ScenarioError(FaultScenario("posix/io/sync/fsync", "EWHAT")),
            ":7:9: unknown errno 'EWHAT'");
}

TEST(Scenario, UnknownFaultPointIsAnErrorAtItsValue) {
  EXPECT_EQ(ScenarioError(FaultScenario("posix/io/sync/fsnyc", "EIO")),
            ":6:9: unknown fault point 'posix/io/sync/fsnyc': neither the injector's "
            "(docs/injector.md) nor among the target's [faults] points");
  // A group that matches none of the injector's points is as unknown.
  EXPECT_EQ(ScenarioError(FaultScenario("posix/io/syncc/*", "EIO")).substr(0, 44),
            ":6:9: unknown fault point 'posix/io/syncc/*'");
}

TEST(Scenario, FaultPointGroupsThatMatchAnInjectorPointAreAccepted) {
  ScratchDir dir;
  for (const char* point : {"posix/io/sync/*", "aftershock/io/renameat2", "*"}) {
    std::string path = dir.Write("s.toml", FaultScenario(point, "EIO"));
    Scenario s;
    Status st = LoadScenario(path, &s);
    EXPECT_TRUE(st.ok()) << point << ": " << st.message();
  }
}

// A target's own libfiu points (refqueue's) are fault points of scenarios
// on that target, and of no other.
TEST(Scenario, FaultPointsTheTargetDeclaresAreAccepted) {
  ScratchDir dir;
  dir.Write("m.toml",
            std::string(kGoodManifest) + "[faults]\npoints = [\"q/enqueue/after-fsync\"]\n");
  std::string path = dir.Write("s.toml", FaultScenario("q/enqueue/after-fsync", "EIO"));
  Scenario s;
  Status st = LoadScenario(path, &s);
  EXPECT_TRUE(st.ok()) << st.message();
  path = dir.Write("s.toml", FaultScenario("q/enqueue/after-fsnyc", "EIO"));
  st = LoadScenario(path, &s);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find(":6:9: unknown fault point 'q/enqueue/after-fsnyc'"),
            std::string::npos)
      << st.message();
}

TEST(Scenario, UnknownBesidePointIsAnErrorAtItsValue) {
  EXPECT_EQ(ScenarioError("target = \"m\"\n[[step]]\nkind = \"enqueue\"\nrcpts = [\"a@b\"]\n"
                          "[step.beside]\nkind = \"deliver\"\npoint = \"posix/io/rw/wrte\"\n"),
            ":7:9: unknown fault point 'posix/io/rw/wrte': not one the injector records "
            "(docs/injector.md)");
}

TEST(Manifest, FaultPointsAreNames) {
  EXPECT_EQ(ManifestError(std::string(kGoodManifest) + "[faults]\npoints = [\"a b\"]\n"),
            ":15:10: 'a b' is not a fault point name");
}

TEST(Scenario, BadRecipientIsAnError) {
  EXPECT_NE(ScenarioError("target = \"m\"\n[[step]]\nkind = \"enqueue\"\nrcpts = [\"alice\"]\n")
                .find("bad recipient 'alice'"),
            std::string::npos);
}

TEST(Scenario, MissingTargetIsAnError) {
  EXPECT_NE(ScenarioError("[[step]]\nkind = \"deliver\"\n").find("'target'"), std::string::npos);
}

TEST(Scenario, NoStepsIsAnError) {
  EXPECT_NE(ScenarioError("target = \"m\"\n").find("[[step]]"), std::string::npos);
}

TEST(Scenario, DuplicateMessageIdIsAnError) {
  EXPECT_NE(ScenarioError("target = \"m\"\n[[step]]\nkind = \"enqueue\"\nid = \"m1\"\nrcpts = "
                          "[\"a@b\"]\n[[step]]\nkind = \"enqueue\"\nid = \"m1\"\nrcpts = "
                          "[\"a@b\"]\n")
                .find("used twice"),
            std::string::npos);
}

TEST(Scenario, FailFaultNeedsAnErrno) {
  EXPECT_NE(ScenarioError("target = \"m\"\n[[step]]\nkind = \"deliver\"\n[[fault]]\naction = "
                          "\"fail\"\npoint = \"posix/io/sync/fsync\"\n")
                .find("errno"),
            std::string::npos);
}

TEST(Scenario, ViolationModelsMustBeScenarioModels) {
  EXPECT_NE(ScenarioError("target = \"m\"\nmodels = [\"posix\"]\n[[step]]\nkind = "
                          "\"deliver\"\n[expect]\nviolation = \"lost\"\nviolation_models = "
                          "[\"process\"]\n")
                .find("not among"),
            std::string::npos);
}

TEST(Scenario, TickNeedsSeconds) {
  EXPECT_NE(ScenarioError("target = \"m\"\n[[step]]\nkind = \"tick\"\n").find("'seconds'"),
            std::string::npos);
}

TEST(CommandEnv, PlaceholdersExpandAndRecipientsAreShellQuoted) {
  Manifest m;
  m.dir = "/opt/q";
  ToolPaths tools{"/bin/aftershock-sink", {"/bin"}};
  CommandContext ctx;
  ctx.manifest = &m;
  ctx.tools = &tools;
  ctx.root = "/dev/shm/r/root";
  ctx.now = 1234;
  ctx.id = "m7";
  ctx.rcpts = {"a@local", "o'neil@remote"};
  EXPECT_EQ(ExpandCommand("q --id {id} {rcpts} --now {now} -C {root} {manifest_dir} {sink}", ctx),
            "q --id m7 'a@local' 'o'\\''neil@remote' --now 1234 -C /dev/shm/r/root /opt/q "
            "/bin/aftershock-sink");
}

TEST(CommandEnv, ScenarioEnvOverridesManifestEnv) {
  Manifest m;
  m.env = {{"A", "1"}, {"B", "2"}};
  EnvList scenario_env = {{"B", "3"}, {"C", "4"}};
  ToolPaths tools{"/s", {"/bin"}};
  CommandContext ctx;
  ctx.manifest = &m;
  ctx.scenario_env = &scenario_env;
  ctx.tools = &tools;
  ctx.now = 5;
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : CommandEnvironment(ctx)) env[k] = v;
  EXPECT_EQ(env["A"], "1");
  EXPECT_EQ(env["B"], "3");
  EXPECT_EQ(env["C"], "4");
  EXPECT_EQ(env["AFTERSHOCK_NOW"], "5");
  EXPECT_EQ(env["PATH"].rfind("/bin:", 0), 0u);
}

TEST(PlainCommand, WordsAndSingleQuotesSplitLikeTheShell) {
  std::vector<std::string> w;
  ASSERT_TRUE(SplitPlainCommand("refqueue deliver --sink /x/aftershock-sink", &w));
  EXPECT_EQ(w, (std::vector<std::string>{"refqueue", "deliver", "--sink", "/x/aftershock-sink"}));
  ASSERT_TRUE(SplitPlainCommand("q 'a b'c  'it''s'", &w));
  EXPECT_EQ(w, (std::vector<std::string>{"q", "a bc", "its"}));
}

TEST(PlainCommand, AnythingTheShellWouldInterpretIsNotPlain) {
  std::vector<std::string> w;
  for (const char* c : {"a > b", "a | b", "a && b", "a; b", "echo $HOME", "a `b`", "a \\ b",
                        "x=1 a", "a &", "ls *", "a 'open", "\"q\"", "a\nb", "~/bin/q", ""}) {
    EXPECT_FALSE(SplitPlainCommand(c, &w)) << c;
  }
}

}  // namespace
}  // namespace aftershock
