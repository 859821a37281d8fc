#include "harness/explore/shard.h"

#include <xxhash.h>

#include <cassert>
#include <cstdlib>

namespace aftershock {
namespace {

// A whole decimal number in [min, max], or false.
bool ParseNumber(const std::string& text, long min, long max, long* out) {
  if (text.empty() || text.size() > 9) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  *out = std::strtol(text.c_str(), nullptr, 10);
  return *out >= min && *out <= max;
}

constexpr long kMaxShards = 100000;

Status ShardFromFlag(const std::string& flag, ShardSpec* out) {
  size_t slash = flag.find('/');
  long k = 0, n = 0;
  if (slash == std::string::npos || !ParseNumber(flag.substr(slash + 1), 1, kMaxShards, &n) ||
      !ParseNumber(flag.substr(0, slash), 1, n, &k)) {
    return Status::Error("--shard '" + flag + "': expected K/N with 1 <= K <= N (e.g. 2/4)");
  }
  *out = {static_cast<int>(k), static_cast<int>(n), "--shard"};
  return Status::Ok();
}

// `name`'s value as a number in [min, max]; the error names it.
Status EnvNumber(const EnvLookup& env, const char* name, long min, long max, long* out) {
  const char* v = env(name);
  if (v == nullptr || !ParseNumber(v, min, max, out)) {
    return Status::Error(std::string(name) + "='" + (v ? v : "") + "': expected a number from " +
                         std::to_string(min) + " to " + std::to_string(max));
  }
  return Status::Ok();
}

Status ShardFromSlurm(const EnvLookup& env, ShardSpec* out) {
  long id = 0, count = 0, min = 0;
  if (Status st = EnvNumber(env, "SLURM_ARRAY_TASK_COUNT", 1, kMaxShards, &count); !st.ok()) {
    return st;
  }
  if (Status st = EnvNumber(env, "SLURM_ARRAY_TASK_ID", 0, kMaxShards * 2, &id); !st.ok()) return st;
  // --array=1-4 and --array=0-3 both make shards 1..4; without the minimum,
  // ids are taken as 1-based unless one is 0.
  if (env("SLURM_ARRAY_TASK_MIN") != nullptr) {
    if (Status st = EnvNumber(env, "SLURM_ARRAY_TASK_MIN", 0, kMaxShards * 2, &min); !st.ok()) {
      return st;
    }
  } else {
    min = id == 0 ? 0 : 1;
  }
  if (id < min || id - min >= count) {
    return Status::Error("SLURM_ARRAY_TASK_ID=" + std::to_string(id) + " is not one of " +
                         std::to_string(count) + " tasks from " + std::to_string(min) +
                         " (use a contiguous --array, step 1)");
  }
  *out = {static_cast<int>(id - min + 1), static_cast<int>(count), "SLURM_ARRAY_TASK_ID"};
  return Status::Ok();
}

}  // namespace

bool ShardTakes(const ShardSpec& shard, const std::string& id) {
  if (!shard.Active()) return true;
  assert(shard.index >= 1 && shard.index <= shard.count);
  uint64_t h = XXH3_64bits(id.data(), id.size());
  return h % static_cast<uint64_t>(shard.count) == static_cast<uint64_t>(shard.index - 1);
}

Status ChooseShard(const std::string& flag, int count, const EnvLookup& env, ShardSpec* out) {
  *out = ShardSpec{};
  if (!flag.empty()) {
    if (count > 0) return Status::Error("--shard-count goes with JOB_COMPLETION_INDEX, not --shard");
    return ShardFromFlag(flag, out);
  }
  if (env("JOB_COMPLETION_INDEX") != nullptr) {
    if (count <= 0) {
      return Status::Error(
          "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give the job's completions "
          "as --shard-count N");
    }
    long index = 0;
    Status st = EnvNumber(env, "JOB_COMPLETION_INDEX", 0, count - 1, &index);
    if (!st.ok()) return st;
    *out = {static_cast<int>(index + 1), count, "JOB_COMPLETION_INDEX"};
    return Status::Ok();
  }
  if (count > 0) return Status::Error("--shard-count needs JOB_COMPLETION_INDEX in the environment");
  if (env("SLURM_ARRAY_TASK_ID") != nullptr) return ShardFromSlurm(env, out);
  if (env("CI_NODE_INDEX") != nullptr) {
    long total = 0, index = 0;
    if (Status st = EnvNumber(env, "CI_NODE_TOTAL", 1, kMaxShards, &total); !st.ok()) return st;
    if (Status st = EnvNumber(env, "CI_NODE_INDEX", 1, total, &index); !st.ok()) return st;
    *out = {static_cast<int>(index), static_cast<int>(total), "CI_NODE_INDEX"};
  }
  return Status::Ok();
}

uint64_t ShardSeed(uint64_t base, const ShardSpec& shard) {
  if (!shard.Active() || shard.index == 1) return base;
  uint64_t words[2] = {base, static_cast<uint64_t>(shard.index)};
  return XXH3_64bits(words, sizeof words);
}

}  // namespace aftershock
