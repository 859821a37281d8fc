// `aftershock merge`: the reports of a run's shards (--shard K/N,
// docs/scale-out.md) joined into the report the unsharded run gives: counts
// summed, violation groups joined by verdict and cause with the earliest
// example, every scenario x model judged again on the sums. Shards of
// different runs are refused, never mixed.
#pragma once

#include <string>
#include <vector>

#include "model/status.h"
#include "reports/report.h"

namespace aftershock {

struct ShardReport {
  std::string dir;  // the shard's --out, as given (errors name it)
  Report report;
};

// Merges `shards` (any order) into *out. An error, one line naming the
// directories, when one is not a shard's, shards disagree on the run
// (version, seed, scenarios, expectations, models, or the crash states a
// scenario x model gave: the states digest), or a shard is missing or
// given twice.
Status MergeShards(const std::vector<ShardReport>& shards, Report* out);

// Adds the counts and groups of `part` to `into`: two shares of one
// scenario x model (shards, or the recordings of one scenario). Groups join
// by recording, verdict and cause, each with its earliest example; the
// states digest, the order of the groups and the judgement are left to the
// caller.
void AddModelResult(const ModelResult& part, ModelResult* into);

// `reproduce` of a group ("aftershock replay REPORT --scenario ...") with
// REPORT replaced by `report_path`.
std::string ReproduceFrom(const std::string& reproduce, const std::string& report_path);

}  // namespace aftershock
