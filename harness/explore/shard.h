// One shard of a run (--shard K/N, docs/scale-out.md): every shard records
// the same workloads, and each checks the crash states whose id (the ops the
// crash kept and dropped: "p28-d27") falls to it. Ids, not contents: a
// target that names its files by pid or time gives other bytes in every
// recording, but the same ops; the shards' counts add up to an unsharded
// run's, and `aftershock merge` joins them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "model/status.h"
#include "reports/report.h"

namespace aftershock {

// True iff the state `id` falls to `shard` (every state when the shard is
// not active).
bool ShardTakes(const ShardSpec& shard, const std::string& id);

// Reads the environment (a getenv).
using EnvLookup = std::function<const char*(const char*)>;

// The shard of this process: `flag` ("K/N", from --shard) when given, else
// the engine's variables, in this order: JOB_COMPLETION_INDEX (Kubernetes
// Indexed Job, 0-based; N from `count`, --shard-count), SLURM_ARRAY_TASK_ID
// with SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN, CI_NODE_INDEX with
// CI_NODE_TOTAL (GitLab). `count` > 0 without either: an error. Inactive
// (count 0) when nothing names one. The error names the flag or variable.
Status ChooseShard(const std::string& flag, int count, const EnvLookup& env, ShardSpec* out);

// Shard `shard` of a fuzz campaign searches from its own seed: `base` for
// shard 1, a distinct mix of `base` and the index for the others.
uint64_t ShardSeed(uint64_t base, const ShardSpec& shard);

}  // namespace aftershock
