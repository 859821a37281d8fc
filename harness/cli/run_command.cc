// `aftershock run` and `aftershock check`.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "harness/cli/command.h"
#include "harness/cli/sandbox_options.h"
#include "harness/cli/shard_options.h"
#include "harness/cli/terminal.h"
#include "harness/explore/builtin_workloads.h"
#include "harness/target/command_env.h"
#include "model/persistence.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

struct CliOptions {
  std::vector<std::string> scenarios;
  std::string target;
  std::vector<std::string> models;
  std::string strategy;
  int jobs = 0;
  std::string seed;
  std::string out = "aftershock-out";
  bool keep_states = false;
  SandboxFlags sandbox;
  bool quiet = false;
  bool verbose = false;
  int nested = -1;
  ShardFlags shard;
};

// scenarios/*.toml beside the executable's source tree, or in the cwd.
std::vector<std::string> DefaultScenarios() {
  std::vector<std::string> dirs = {"scenarios", AFTERSHOCK_SOURCE_DIR "/scenarios"};
  for (const auto& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      if (e.path().extension() == ".toml") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    if (!files.empty()) return files;
  }
  return {};
}

bool ToRunOptions(const CliOptions& c, RunOptions* o) {
  o->command_line = OwnCommandLine();
  o->target = c.target;
  o->models = c.models;
  o->strategy = c.strategy;
  unsigned cores = std::thread::hardware_concurrency();
  o->jobs = c.jobs > 0 ? c.jobs : static_cast<int>(cores ? cores : 1);
  if (!c.seed.empty()) {
    try {
      size_t used = 0;
      o->seed = std::stoull(c.seed, &used, 0);
      if (used != c.seed.size()) throw std::invalid_argument("trailing");
    } catch (...) {
      std::fprintf(stderr, "aftershock: --seed must be a number, not '%s'\n", c.seed.c_str());
      return false;
    }
  }
  o->out_dir = c.out;
  o->keep_states = c.keep_states;
  o->sandbox = ToConfinement(c.sandbox);
  o->verbosity = c.quiet ? 0 : c.verbose ? 2 : 1;
  o->nested = c.nested;
  for (const auto& m : c.models) {
    if (!IsKnownModel(m)) {
      std::fprintf(stderr, "aftershock: unknown model '%s'\n", m.c_str());
      return false;
    }
  }
  if (!c.strategy.empty() && !IsKnownStrategy(c.strategy)) {
    std::fprintf(stderr, "aftershock: unknown strategy '%s'\n", c.strategy.c_str());
    return false;
  }
  return ChooseShardOrSay(c.shard, o->verbosity, &o->shard);
}

void AddCommonOptions(CLI::App* cmd, CliOptions* c) {
  cmd->add_option("--model", c->models,
                  std::string("persistence model (repeatable): ") + PersistenceModel::kNamesHelp);
  cmd->add_option("--strategy", c->strategy, "crash states: prefix, omit-one, random, exhaustive");
  cmd->add_option("--jobs,-j", c->jobs, "parallel workers (default: all cores)")
      ->check(CLI::Range(0, kMaxJobs));
  cmd->add_option("--seed", c->seed, "the seed of every random choice (default: the scenario's)");
  cmd->add_option("--out", c->out, "directory for report.json, junit.xml, summary.md")
      ->capture_default_str()
      ->check(OutputDirValidator());
  cmd->add_flag("--keep-states", c->keep_states, "keep every crash state's directory");
  AddSandboxOptions(cmd, &c->sandbox);
  cmd->add_flag("--quiet,-q", c->quiet, "print nothing but errors");
  cmd->add_flag("--verbose,-v", c->verbose, "print workload notes and every expectation");
  cmd->add_option("--nested", c->nested, "1: also crash during recovery and recover again")
      ->check(CLI::Range(0, 1));
  AddShardOptions(cmd, &c->shard,
                  "check shard K of N of the crash states (1-based); `aftershock merge` joins "
                  "the shards' --out");
}

void SetupRun(CLI::App& app, int* exit_status) {
  auto c = std::make_shared<CliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run scenarios: record each workload, explore every crash state under each model, run "
      "the target's recovery on it and check the mail. Without SCENARIO, every scenario in "
      "scenarios/ against the reference queue.");
  cmd->add_option("SCENARIO", c->scenarios, "scenario files (*.toml)")->check(InputFileValidator());
  cmd->add_option("--target", c->target, "target manifest, instead of each scenario's own")
      ->check(InputFileValidator());
  AddCommonOptions(cmd, c.get());
  cmd->callback([c, exit_status] {
    RunOptions options;
    if (!ToRunOptions(*c, &options)) {
      *exit_status = 2;
      return;
    }
    std::vector<std::string> files = c->scenarios.empty() ? DefaultScenarios() : c->scenarios;
    if (files.empty()) {
      std::fprintf(stderr, "aftershock: no scenario given and no scenarios/ folder found\n");
      *exit_status = 2;
      return;
    }
    std::vector<Scenario> scenarios;
    if (Status st = LoadScenarios(files, options, &scenarios); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.message().c_str());
      *exit_status = 2;
      return;
    }
    Report report;
    *exit_status = RunScenarios(scenarios, options, &report);
  });
}

void SetupCheck(CLI::App& app, int* exit_status) {
  auto c = std::make_shared<CliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Validate a queue: run aftershock's built-in workloads against the target under every "
      "model. Exit 0 when no acknowledged message can be lost.");
  cmd->add_option("--target", c->target, "target manifest")
      ->required()
      ->check(InputFileValidator());
  auto env = std::make_shared<std::vector<std::string>>();
  cmd->add_option("--env", *env,
                  "KEY=VALUE added to the manifest's [env] for every command (repeatable), e.g. "
                  "REFQUEUE_BUG=stale-ignores-age");
  AddCommonOptions(cmd, c.get());
  cmd->callback([c, env, exit_status] {
    RunOptions options;
    if (!ToRunOptions(*c, &options)) {
      *exit_status = 2;
      return;
    }
    EnvList extra;
    if (Status st = ParseEnvAssignments(*env, &extra); !st.ok()) {
      std::fprintf(stderr, "aftershock: %s\n", st.message().c_str());
      *exit_status = 2;
      return;
    }
    std::string manifest = fs::absolute(c->target).lexically_normal().string();
    std::vector<std::string> notes;
    std::vector<Scenario> scenarios = BuiltinWorkloads(manifest, &notes);
    if (options.verbosity > 0) {
      for (const auto& n : notes) std::fprintf(stderr, "aftershock check: %s\n", n.c_str());
    }
    for (auto& s : scenarios) {
      ApplyOverrides(options, &s);
      s.env = extra;
    }
    options.target.clear();
    Report report;
    *exit_status = RunScenarios(scenarios, options, &report);
  });
}

const bool kRunRegistered = RegisterCommand({"run", 1, SetupRun});
const bool kCheckRegistered = RegisterCommand({"check", 2, SetupCheck});

}  // namespace
}  // namespace aftershock
