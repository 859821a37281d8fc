// --shard K/N and --shard-count N, shared by `run`, `check` and `fuzz`
// (docs/scale-out.md): the flags, and the shard chosen from them or from the
// engine's environment, said on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "reports/report.h"

namespace aftershock {

struct ShardFlags {
  std::string shard;  // --shard K/N
  int count = 0;         // --shard-count N
  bool none = false;     // --no-shard: the engine's variables are not read
};

// `what` says what a shard does in this command.
void AddShardOptions(CLI::App* cmd, ShardFlags* flags, const std::string& what);

// Chooses the shard (harness/explore/shard.h) and prints which one, and from
// where, unless verbosity is 0. False (the error printed) on a bad flag or
// variable: the command exits 2.
bool ChooseShardOrSay(const ShardFlags& flags, int verbosity, ShardSpec* out);

}  // namespace aftershock
