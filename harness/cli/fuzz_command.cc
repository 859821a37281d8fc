// `aftershock fuzz`.
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <thread>

#include "harness/cli/command.h"
#include "harness/cli/sandbox_options.h"
#include "harness/cli/shard_options.h"
#include "harness/cli/terminal.h"
#include "harness/explore/shard.h"
#include "harness/fuzz/fuzz.h"
#include "harness/target/command_env.h"
#include "harness/target/scenario.h"

namespace aftershock {
namespace {

struct FuzzCli {
  std::string target;
  std::string budget = "60s";
  std::string shrink_budget;
  std::string seed;
  std::vector<std::string> models;
  std::string strategy = "omit-one";
  std::vector<std::string> env;
  std::string domains = "local,remote";
  int max_steps = 6;
  int64_t max_cases = 100000;
  int64_t max_states = 2000;
  int64_t max_interleavings = 4;
  uint32_t beside_one_in = 8;
  std::string out = "aftershock-out";
  int jobs = 0;
  bool quiet = false;
  bool verbose = false;
  SandboxFlags sandbox;
  ShardFlags shard;
};

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool ValidDomain(const std::string& d) {
  if (d.empty()) return false;
  for (char c : d) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')) return false;
  }
  return true;
}

// Fills *o from the command line. Returns false (message printed) on bad input.
bool ToFuzzOptions(const FuzzCli& c, FuzzOptions* o) {
  auto bad = [](const std::string& what) {
    std::fprintf(stderr, "aftershock fuzz: %s\n", what.c_str());
    return false;
  };
  o->target = c.target;
  if (!ParseDuration(c.budget, &o->budget_s)) {
    return bad("--budget must be a duration (60s, 2m, 1h, 90), not '" + c.budget + "'");
  }
  o->shrink_budget_s = std::max(30.0, o->budget_s);
  if (!c.shrink_budget.empty() && !ParseDuration(c.shrink_budget, &o->shrink_budget_s)) {
    return bad("--shrink-budget must be a duration, not '" + c.shrink_budget + "'");
  }
  if (!c.seed.empty()) {
    try {
      size_t used = 0;
      o->seed = std::stoull(c.seed, &used, 0);
      if (used != c.seed.size()) throw std::invalid_argument("trailing");
    } catch (...) {
      return bad("--seed must be a number, not '" + c.seed + "'");
    }
  }
  if (!c.models.empty()) o->models = c.models;
  for (const auto& m : o->models) {
    if (!IsKnownModel(m)) return bad("unknown model '" + m + "'");
  }
  if (!IsKnownStrategy(c.strategy)) return bad("unknown strategy '" + c.strategy + "'");
  o->strategy = c.strategy;
  if (Status st = ParseEnvAssignments(c.env, &o->env); !st.ok()) return bad(st.message());
  o->domains = SplitCommas(c.domains);
  if (o->domains.size() > 8) return bad("--domains: at most 8");
  for (const auto& d : o->domains) {
    if (!ValidDomain(d)) return bad("--domains: bad domain '" + d + "'");
  }
  o->space.max_steps = c.max_steps;
  o->max_cases = c.max_cases;
  o->max_states = c.max_states;
  o->max_interleavings = c.max_interleavings;
  o->space.beside_one_in = c.beside_one_in;
  o->out_dir = c.out;
  unsigned cores = std::thread::hardware_concurrency();
  o->jobs = c.jobs > 0 ? c.jobs : static_cast<int>(cores ? cores : 1);
  o->verbosity = c.quiet ? 0 : c.verbose ? 2 : 1;
  o->sandbox = ToConfinement(c.sandbox);
  o->command_line = OwnCommandLine();
  ShardSpec shard;
  if (!ChooseShardOrSay(c.shard, o->verbosity, &shard)) return false;
  // Shards search disjoint seeds; each prints its own, which repeats it.
  if (o->seed) o->seed = ShardSeed(*o->seed, shard);
  return true;
}

// A fuzz run's lines on the terminal: notes and the progress line on
// stderr, the closing line on stdout.
class TerminalFuzzOutput : public FuzzOutput {
 public:
  void Note(const std::string& line) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(stderr, "%s%s\n", Interactive() ? "\r\033[K" : "", line.c_str());
  }
  void Result(const std::string& line) override { std::printf("%s\n", line.c_str()); }
  void Status(const std::string& line) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }
  bool Interactive() const override { return isatty(2) != 0; }

 private:
  std::mutex mu_;
};

// The usual reports, by `aftershock run`'s code on the scenario the search
// wrote: proof that it loads and reproduces. Returns 1, or 2 on an error.
int RunFoundScenario(const FuzzOptions& o, const FuzzOutcome& outcome) {
  RunOptions ro;
  ro.jobs = o.jobs;
  ro.out_dir = o.out_dir;
  ro.replace_out = false;  // out_dir also holds the scenario file the search wrote
  ro.verbosity = o.verbosity > 0 ? 1 : 0;
  ro.command_line = o.command_line;
  std::vector<Scenario> scenarios;
  if (Status st = LoadScenarios({outcome.scenario_file}, ro, &scenarios); !st.ok()) {
    std::fprintf(stderr, "aftershock: the written scenario does not load: %s\n",
                 st.message().c_str());
    return 2;
  }
  Report report;
  int status = RunScenarios(scenarios, ro, &report);
  if (status == 2) return 2;
  if (status != 0) {
    std::fprintf(stderr,
                 "aftershock fuzz: warning: running %s did not show the violation again (a "
                 "flaky target?)\n",
                 outcome.scenario_file.c_str());
  }
  std::printf("violation: %s; reproduce: aftershock run %s\n", outcome.verdict.c_str(),
              outcome.scenario_file.c_str());
  return 1;
}

void SetupFuzz(CLI::App& app, int* exit_status) {
  auto c = std::make_shared<FuzzCli>();
  CLI::App* cmd = app.add_subcommand(
      "fuzz",
      "Generate workloads with RapidCheck (messages to subsets of recipients across queues, body "
      "sizes at sector boundaries, deliveries, clock ticks, restarts) and explore each under the "
      "models; shrink a violating one to the smallest that still violates and write it as a "
      "scenario (OUT/fuzz-<target>-<seed>.toml) with reports. Exit 0: no violation within the "
      "budget; 1: a violation; 2: bad input.");
  cmd->add_option("--target", c->target, "target manifest")
      ->required()
      ->check(InputFileValidator());
  cmd->add_option("--budget", c->budget, "no new workload after this long (60s, 2m, 1h)")
      ->capture_default_str();
  cmd->add_option("--shrink-budget", c->shrink_budget,
                  "shrinking stops after this long (default: the budget, at least 30s)");
  cmd->add_option("--seed", c->seed, "RapidCheck's seed (default: random, printed)");
  cmd->add_option("--model", c->models,
                  "persistence model (repeatable; default process, posix, ext4-ordered)");
  cmd->add_option("--strategy", c->strategy,
                  "crash states per workload: prefix, omit-one, random, exhaustive")
      ->capture_default_str();
  cmd->add_option("--env", c->env,
                  "KEY=VALUE for every target command (repeatable), e.g. "
                  "REFQUEUE_BUG=no-dir-fsync");
  cmd->add_option("--domains", c->domains, "recipient domains (queues), two users each")
      ->capture_default_str();
  cmd->add_option("--max-steps", c->max_steps, "steps per workload, at most")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--max-cases", c->max_cases, "workloads, at most")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  cmd->add_option("--max-states", c->max_states, "crash states per model and workload, at most")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 32))
      ->capture_default_str();
  cmd->add_option("--max-interleavings", c->max_interleavings,
                  "interleavings of a step with its beside step, at most (spread evenly)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--beside-one-in", c->beside_one_in,
                  "one enqueue in this many gets a restart or delivery beside it (0: never)")
      ->check(CLI::Range(uint32_t{0}, uint32_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--out", c->out, "where the scenario and the reports go")
      ->capture_default_str()
      ->check(OutputDirValidator());
  cmd->add_option("--jobs,-j", c->jobs, "parallel workers (default: all cores)")
      ->check(CLI::Range(0, kMaxJobs));
  cmd->add_flag("--quiet,-q", c->quiet, "print nothing but errors and the result");
  cmd->add_flag("--verbose,-v", c->verbose, "print every workload tried");
  AddSandboxOptions(cmd, &c->sandbox);
  AddShardOptions(cmd, &c->shard,
                  "search as shard K of N: from a seed of its own, derived from --seed and K");
  cmd->callback([c, exit_status] {
    FuzzOptions options;
    if (!ToFuzzOptions(*c, &options)) {
      *exit_status = 2;
      return;
    }
    FuzzOutcome outcome;
    TerminalFuzzOutput output;
    *exit_status = RunFuzz(options, &output, &outcome);
    if (*exit_status == 1) *exit_status = RunFoundScenario(options, outcome);
  });
}

const bool kFuzzRegistered = RegisterCommand({"fuzz", 3, SetupFuzz});

}  // namespace
}  // namespace aftershock
