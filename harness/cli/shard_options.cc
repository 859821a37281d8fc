#include "harness/cli/shard_options.h"

#include <cstdio>
#include <cstdlib>

#include "harness/explore/shard.h"

namespace aftershock {

void AddShardOptions(CLI::App* cmd, ShardFlags* flags, const std::string& what) {
  cmd->add_option("--shard", flags->shard,
                  "K/N: " + what +
                      " (default: from JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or "
                      "CI_NODE_INDEX when set; docs/scale-out.md)");
  cmd->add_flag("--no-shard", flags->none,
                "the whole run, even where JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or "
                "CI_NODE_INDEX is set");
  cmd->add_option("--shard-count", flags->count,
                  "N, the completions of a Kubernetes Indexed Job: the shard is "
                  "JOB_COMPLETION_INDEX + 1 of N")
      ->check(CLI::Range(1, 100000));
}

bool ChooseShardOrSay(const ShardFlags& flags, int verbosity, ShardSpec* out) {
  *out = ShardSpec{};
  if (flags.none) {
    if (flags.shard.empty() && flags.count == 0) return true;
    std::fprintf(stderr, "aftershock: --no-shard goes with neither --shard nor --shard-count\n");
    return false;
  }
  Status st = ChooseShard(flags.shard, flags.count,
                          [](const char* name) { return std::getenv(name); }, out);
  if (!st.ok()) {
    std::fprintf(stderr, "aftershock: %s\n", st.message().c_str());
    return false;
  }
  if (out->Active() && verbosity > 0) {
    std::fprintf(stderr, "aftershock: shard %s (from %s)\n", out->Label().c_str(),
                 out->source.c_str());
  }
  return true;
}

}  // namespace aftershock
