// The manifests in targets/ for SQLite and safecat, run by hand the way the
// harness runs them: commands through /bin/sh -c in {root}, aftershock's
// executables on PATH, the contract's environment.
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kTargets = std::string(SOURCE_ROOT) + "/targets";

std::string Command(const toml::table& manifest, const char* key) {
  return manifest["commands"][key].value_or(std::string());
}

std::map<std::string, std::string> ContractEnv(const ScratchDir& root, const std::string& sink) {
  std::string adapter_dir = std::filesystem::path(SQLITE_QUEUE_EXE).parent_path().string();
  const char* path = getenv("PATH");
  return {{"PATH", adapter_dir + ":" + (path ? path : "/usr/bin:/bin")},
          {"AFTERSHOCK_ROOT", root.path()},
          {"AFTERSHOCK_SINK", sink},
          {"AFTERSHOCK_NOW", "1700000000"},
          {"AFTERSHOCK_MANIFEST_DIR", kTargets}};
}

std::string Message(const std::string& id, const std::string& rcpts, const std::string& body) {
  return "Message-ID: <" + id + "@aftershock.invalid>\nX-Aftershock-Id: " + id + "\nTo: " + rcpts +
         "\nSubject: aftershock " + id + "\n\n" + body;
}

struct SqliteSetting {
  const char* file_stem;
  const char* journal_mode;  // as the flag takes it
  const char* synchronous;
};

class SqliteManifest : public testing::TestWithParam<SqliteSetting> {};

TEST_P(SqliteManifest, DeclaresDaemonModeWithItsSetting) {
  const SqliteSetting& s = GetParam();
  toml::table m = toml::parse_file(kTargets + "/" + s.file_stem + ".toml");
  EXPECT_EQ(m["name"].value_or(std::string()), s.file_stem);
  EXPECT_EQ(m["commands"]["mode"].value_or(std::string()), "daemon");
  EXPECT_EQ(m["mailbox"]["kind"].value_or(std::string()), "sink");
  EXPECT_FALSE(m["commands"]["enqueue"]) << "daemon mode enqueues through serve";
  std::string flags =
      std::string("--journal-mode ") + s.journal_mode + " --synchronous " + s.synchronous;
  for (const char* key : {"init", "serve", "deliver", "recover"}) {
    EXPECT_EQ(Command(m, key), std::string("aftershock-sqlite-queue ") + key + " " + flags);
  }
  bool wal = std::string(s.journal_mode) == "WAL";
  EXPECT_EQ(m["gaps"]["rebuilt"][0].value_or(std::string()), wal ? "queue.db-shm" : "");
}

TEST_P(SqliteManifest, ServesDeliversAndRecoversUnderTheHarnessEnvironment) {
  const SqliteSetting& s = GetParam();
  toml::table m = toml::parse_file(kTargets + "/" + s.file_stem + ".toml");
  ScratchDir root;
  ScratchDir sink_dir;  // the sink records outside the crash domain
  auto env =
      ContractEnv(root, WriteRecordingSink(sink_dir.path() + "/sink.sh", sink_dir.path() + "/out"));
  ASSERT_EQ(RunShell(Command(m, "init"), root.path(), env, "").status, 0);

  Child serve(Command(m, "serve") + " 2>" + sink_dir.path() + "/serve.err", root.path(), env);
  std::string m1 = Message("m1", "alice@local, bob@remote", "one\n");
  std::string m2 = Message("m2", "carol@local", "two\n");
  std::string line;
  ASSERT_TRUE(
      serve.Send("enqueue m1 alice@local bob@remote " + std::to_string(m1.size()) + "\n" + m1));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line, "ok m1");
  // While the daemon keeps its connection, a WAL database keeps its -wal
  // file: this is the state a crash after the acknowledgement sees.
  bool wal = std::string(s.journal_mode) == "WAL";
  EXPECT_EQ(std::filesystem::exists(root.path() + "/queue.db-wal"), wal);
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/queue.db-journal"));
  ASSERT_TRUE(serve.Send("enqueue m2 carol@local " + std::to_string(m2.size()) + "\n" + m2));
  ASSERT_TRUE(serve.ReadLine(&line));
  EXPECT_EQ(line, "ok m2");
  EXPECT_EQ(serve.CloseAndWait(), 0);
  std::string log = ReadFile(sink_dir.path() + "/serve.err");
  std::string expected_mode = wal ? "journal_mode=wal" : "journal_mode=delete";
  EXPECT_NE(log.find(expected_mode + " synchronous=" + s.synchronous), std::string::npos) << log;

  RunResult recover = RunShell(Command(m, "recover"), root.path(), env, "");
  ASSERT_EQ(recover.status, 0) << recover.err;
  RunResult deliver = RunShell(Command(m, "deliver"), root.path(), env, "");
  ASSERT_EQ(deliver.status, 0) << deliver.err;
  std::vector<std::string> copies = ListDir(sink_dir.path() + "/out");
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(ReadFile(sink_dir.path() + "/out/" + copies[0]), "RCPTS alice@local bob@remote\n" + m1);
  EXPECT_EQ(ReadFile(sink_dir.path() + "/out/" + copies[1]), "RCPTS carol@local\n" + m2);
}

INSTANTIATE_TEST_SUITE_P(Settings, SqliteManifest,
                         testing::Values(SqliteSetting{"sqlite-delete-off", "DELETE", "OFF"},
                                         SqliteSetting{"sqlite-delete-normal", "DELETE", "NORMAL"},
                                         SqliteSetting{"sqlite-delete-full", "DELETE", "FULL"},
                                         SqliteSetting{"sqlite-delete-extra", "DELETE", "EXTRA"},
                                         SqliteSetting{"sqlite-wal-off", "WAL", "OFF"},
                                         SqliteSetting{"sqlite-wal-normal", "WAL", "NORMAL"},
                                         SqliteSetting{"sqlite-wal-full", "WAL", "FULL"},
                                         SqliteSetting{"sqlite-wal-extra", "WAL", "EXTRA"}),
                         [](const auto& info) {
                           std::string name = info.param.file_stem;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

TEST(SqliteExitModeManifest, EachEnqueueCheckpointsAndLeavesNoWal) {
  toml::table m = toml::parse_file(kTargets + "/sqlite-wal-normal-exit.toml");
  EXPECT_EQ(m["commands"]["mode"].value_or(std::string("exit")), "exit");
  EXPECT_FALSE(m["commands"]["serve"]);
  ScratchDir root;
  ScratchDir sink_dir;
  auto env =
      ContractEnv(root, WriteRecordingSink(sink_dir.path() + "/sink.sh", sink_dir.path() + "/out"));
  ASSERT_EQ(RunShell(Command(m, "init"), root.path(), env, "").status, 0);
  // The harness substitutes {id} and {rcpts} (shell-quoted) before running.
  std::string enqueue = Command(m, "enqueue");
  enqueue.replace(enqueue.find("{id}"), 4, "m1");
  enqueue.replace(enqueue.find("{rcpts}"), 7, "'alice@local' 'bob@remote'");
  std::string m1 = Message("m1", "alice@local, bob@remote", "one\n");
  RunResult r = RunShell(enqueue, root.path(), env, m1);
  ASSERT_EQ(r.status, 0) << r.err;
  // What hides WAL + NORMAL's loss in exit mode: the closing connection
  // checkpointed into queue.db and removed the WAL before the exit.
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/queue.db-wal"));
  ASSERT_EQ(RunShell(Command(m, "recover"), root.path(), env, "").status, 0);
  ASSERT_EQ(RunShell(Command(m, "deliver"), root.path(), env, "").status, 0);
  std::vector<std::string> copies = ListDir(sink_dir.path() + "/out");
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(ReadFile(sink_dir.path() + "/out/" + copies[0]), "RCPTS alice@local bob@remote\n" + m1);
}

// Every third-party manifest has a prediction per model, in the file the
// harness-run test will compare `aftershock check` against, and the
// prediction agrees with the manifest's own comment (ok or not).
TEST(ExpectedVerdicts, EveryThirdPartyManifestHasAPredictionPerModel) {
  toml::table expected =
      toml::parse_file(std::string(SOURCE_ROOT) + "/tests/thirdparty/expected_verdicts.toml");
  std::set<std::string> predicted;
  for (const auto& node : *expected["target"].as_array()) {
    const toml::table& t = *node.as_table();
    std::string manifest = t["manifest"].value_or(std::string());
    predicted.insert(manifest);
    std::string text = ReadFile(kTargets + "/" + manifest);
    ASSERT_FALSE(text.empty()) << manifest;
    for (const char* model : {"process", "posix", "ext4-ordered"}) {
      ASSERT_TRUE(t[model]["must"].is_array()) << manifest << " " << model;
      bool ok = t[model]["must"].as_array()->empty();
      std::string prefix = std::string(model) + ": ";
      size_t at = text.find(prefix);
      ASSERT_NE(at, std::string::npos) << manifest << " has no comment for " << model;
      std::string comment = text.substr(at + prefix.size());
      comment = comment.substr(comment.find_first_not_of(' '));
      EXPECT_EQ(comment.rfind(ok ? "ok" : "lost", 0), 0u) << manifest << " " << model;
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(kTargets)) {
    std::string name = entry.path().filename().string();
    bool ours = name.rfind("sqlite-", 0) == 0 || name.rfind("safecat", 0) == 0 ||
                name.rfind("procmail-", 0) == 0 || name.rfind("dovecot-", 0) == 0;
    if (ours && entry.path().extension() == ".toml") {
      EXPECT_TRUE(predicted.count(name)) << name << " has no predicted verdicts";
    }
  }
}

class SafecatManifest : public testing::TestWithParam<std::string> {};

TEST_P(SafecatManifest, EnqueueDeliversTheMessageIntoMaildirNew) {
  toml::table m = toml::parse_file(kTargets + "/" + GetParam() + ".toml");
  EXPECT_EQ(m["commands"]["mode"].value_or(std::string("exit")), "exit");
  EXPECT_EQ(m["mailbox"]["kind"].value_or(std::string()), "maildir");
  std::string maildir = m["mailbox"]["path"].value_or(std::string());
  ASSERT_EQ(maildir, "Maildir");
  ScratchDir root;
  auto env = ContractEnv(root, "/bin/false");
  env["AFTERSHOCK_ID"] = "m1";
  env["AFTERSHOCK_RCPTS"] = "alice@local";
  ASSERT_EQ(RunShell(Command(m, "init"), root.path(), env, "").status, 0);
  std::string message = Message("m1", "alice@local", std::string(5000, 'b') + "\n");
  RunResult enqueue = RunShell(Command(m, "enqueue"), root.path(), env, message);
  ASSERT_EQ(enqueue.status, 0) << enqueue.err;

  std::vector<std::string> delivered = ListDir(root.path() + "/Maildir/new");
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(ReadFile(root.path() + "/Maildir/new/" + delivered[0]), message);
  EXPECT_TRUE(ListDir(root.path() + "/Maildir/tmp").empty());
  EXPECT_TRUE(ListDir(root.path() + "/Maildir/cur").empty());
  // safecat names the file it made on stdout.
  EXPECT_EQ(enqueue.out, delivered[0] + "\n");
}

TEST_P(SafecatManifest, MissingMaildirIsNotAcknowledged) {
  toml::table m = toml::parse_file(kTargets + "/" + GetParam() + ".toml");
  ScratchDir root;
  RunResult enqueue =
      RunShell(Command(m, "enqueue"), root.path(), ContractEnv(root, "/bin/false"), "x\n");
  EXPECT_NE(enqueue.status, 0);
}

INSTANTIATE_TEST_SUITE_P(Manifests, SafecatManifest, testing::Values("safecat", "safecat-dirsync"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// The real delivery agents (docs/delivery-agents.md), run by hand: each
// delivers two messages whose bodies end with a short line, and the mailbox
// holds them byte for byte (mbox: behind a From_ line, followed by an empty
// line).
struct AgentCase {
  const char* manifest;
  const char* mailbox;  // where the copies are, relative to {root}
};

class DeliveryAgentManifest : public testing::TestWithParam<AgentCase> {};

TEST_P(DeliveryAgentManifest, EnqueueDeliversTheMessageUnchanged) {
  toml::table m = toml::parse_file(kTargets + "/" + GetParam().manifest + ".toml");
  std::string kind = m["mailbox"]["kind"].value_or(std::string());
  EXPECT_EQ(m["mailbox"]["path"].value_or(std::string()), GetParam().mailbox);
  EXPECT_FALSE(m["commands"]["deliver"]);
  EXPECT_FALSE(m["commands"]["recover"]);
  ScratchDir root;
  auto env = ContractEnv(root, "/bin/false");
  ASSERT_EQ(RunShell(Command(m, "init"), root.path(), env, "").status, 0);
  std::string enqueue = Command(m, "enqueue");
  for (const std::string key : {"{manifest_dir}", "{root}"}) {
    for (size_t at = enqueue.find(key); at != std::string::npos; at = enqueue.find(key)) {
      enqueue.replace(at, key.size(), key == "{root}" ? root.path() : kTargets);
    }
  }
  std::string m1 = Message("m1", "alice@local", "abc\nFrom the start\nxyz\n");
  std::string m2 = Message("m2", "alice@local", "");
  for (const std::string& message : {m1, m2}) {
    RunResult r = RunShell(enqueue, root.path(), env, message);
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::string box = root.path() + "/" + GetParam().mailbox;
  if (kind == "mbox") {
    std::string text = ReadFile(box);
    std::string quoted = m1.substr(0, m1.find("From the")) + ">" + m1.substr(m1.find("From the"));
    size_t second = text.find("\n\nFrom sender@remote ");
    ASSERT_EQ(text.rfind("From sender@remote ", 0), 0u) << text;
    ASSERT_NE(second, std::string::npos) << text;
    EXPECT_EQ(text.substr(text.find('\n') + 1, quoted.size() + 1), quoted + "\n");
    std::string rest = text.substr(second + 2);
    // m2's body is empty, so it already ends in an empty line: procmail
    // adds no other (the mbox reader reads it as the separator).
    EXPECT_EQ(rest.substr(rest.find('\n') + 1), m2);
    return;
  }
  ASSERT_EQ(kind, "maildir");
  std::vector<std::string> copies = ListDir(box + "/new");
  ASSERT_EQ(copies.size(), 2u);
  std::set<std::string> got = {ReadFile(box + "/new/" + copies[0]),
                               ReadFile(box + "/new/" + copies[1])};
  EXPECT_EQ(got, (std::set<std::string>{m1, m2}));
  EXPECT_TRUE(ListDir(box + "/tmp").empty());
}

INSTANTIATE_TEST_SUITE_P(Agents, DeliveryAgentManifest,
                         testing::Values(AgentCase{"procmail-mbox", "mail/mbox"},
                                         AgentCase{"procmail-maildir", "Maildir"},
                                         AgentCase{"dovecot-lda", "Maildir"}),
                         [](const auto& info) {
                           std::string name = info.param.manifest;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace aftershock::thirdparty_test
