// The reference queue driven through its own target manifests, as the harness
// will drive it: each command run by /bin/sh in the root, with the contract's
// placeholders and environment and the manifest's [env] table.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support.h"

namespace refqueue::testing {
namespace {

namespace fs = std::filesystem;

fs::path TargetsDir() {
  const char* from_env = getenv("REFQUEUE_TARGETS_DIR");
  if (from_env != nullptr) return from_env;
  return fs::read_symlink("/proc/self/exe").parent_path() / "../../../targets";
}

std::vector<std::string> Manifests() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(TargetsDir())) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("refqueue") && name.ends_with(".toml")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Runs `command` with /bin/sh -c in `cwd`; returns its exit status.
int RunShell(const std::string& command, const std::string& cwd,
             const std::vector<std::string>& env, const std::string& input) {
  int in[2];
  if (pipe(in) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    close(in[1]);
    if (chdir(cwd.c_str()) != 0) _exit(126);
    for (const std::string& var : env) putenv(const_cast<char*>(var.c_str()));
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  ssize_t written = write(in[1], input.data(), input.size());
  close(in[1]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (written != static_cast<ssize_t>(input.size())) return -1;
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

class ManifestTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ManifestTest, EnqueueDeliverRecoverDeliversEveryPairOnce) {
  toml::table manifest = toml::parse_file((TargetsDir() / GetParam()).string());
  auto command = [&](const char* key) { return manifest["commands"][key].value_or(std::string()); };
  ASSERT_FALSE(command("enqueue").empty());
  Sandbox sandbox;
  fs::create_directories(sandbox.root());
  // The harness's sink is one program: wrap the test sink and its log.
  const std::string sink = sandbox.root() + "/../sink.sh";
  const std::string test_sink = sandbox.MakeOptions(false).sink;
  std::ofstream(sink) << "#!/bin/sh\nexec " << test_sink << " \"$@\"\n";
  fs::permissions(sink, fs::perms::owner_all);

  const char* bin = getenv("REFQUEUE_BIN");
  ASSERT_NE(bin, nullptr) << "run through meson";
  std::vector<std::string> base_env = {
      "PATH=" + fs::path(bin).parent_path().string() + ":" + getenv("PATH"),
      "AFTERSHOCK_ROOT=" + sandbox.root(), "AFTERSHOCK_SINK=" + sink, "AFTERSHOCK_NOW=100000",
      "AFTERSHOCK_MANIFEST_DIR=" + TargetsDir().string()};
  if (const toml::table* env = manifest["env"].as_table()) {
    for (const auto& [key, value] : *env) {
      base_env.push_back(std::string(key.str()) + "=" + value.value_or(std::string()));
    }
  }
  auto run = [&](const std::string& key, const std::string& id,
                 const std::vector<std::string>& rcpts, const std::string& input) {
    std::string quoted;
    for (const std::string& rcpt : rcpts) quoted += (quoted.empty() ? "'" : " '") + rcpt + "'";
    std::string text = command(key.c_str());
    for (auto [from, to] : {std::pair<std::string, std::string>{"{root}", sandbox.root()},
                            {"{id}", id},
                            {"{rcpts}", quoted},
                            {"{sink}", sink},
                            {"{now}", "100000"},
                            {"{manifest_dir}", TargetsDir().string()}}) {
      text = Replace(text, from, to);
    }
    std::vector<std::string> env = base_env;
    env.push_back("AFTERSHOCK_ID=" + id);
    env.push_back("AFTERSHOCK_RCPTS=" + quoted);
    return RunShell(text, sandbox.root(), env, input);
  };

  std::map<std::string, Submitted> submitted;
  ASSERT_EQ(run("init", "", {}, ""), 0);
  for (const auto& [id, rcpts] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"m1", {"alice@local", "bob@remote"}}, {"m2", {"carol@local"}}}) {
    submitted[id] = {MakeMessage(id, rcpts, 1000), rcpts, false};
    submitted[id].acked = run("enqueue", id, rcpts, submitted[id].content) == 0;
    EXPECT_TRUE(submitted[id].acked) << id;
  }
  EXPECT_EQ(run("deliver", "", {}, ""), 0);
  EXPECT_EQ(run("recover", "", {}, ""), 0);
  EXPECT_EQ(run("deliver", "", {}, ""), 0);
  Outcome outcome = Check(submitted, sandbox.Deliveries());
  EXPECT_TRUE(outcome.Safe() && outcome.duplicated.empty()) << outcome.Describe();
  EXPECT_EQ(outcome.counts.size(), 3u);
  const std::string kind = manifest["mailbox"]["kind"].value_or(std::string());
  EXPECT_EQ(FilesUnder(sandbox.root() + "/mail").empty(), kind == "sink");
}

INSTANTIATE_TEST_SUITE_P(Targets, ManifestTest, ::testing::ValuesIn(Manifests()),
                         [](const auto& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace refqueue::testing
