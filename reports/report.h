// What a run found, independent of how it is written (report.json,
// junit.xml, summary.md). Schema of report.json: docs/report-format.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "reports/evidence.h"
#include "reports/expectation.h"
#include "reports/verdict.h"

namespace aftershock {

inline constexpr int kReportSchemaVersion = 1;

// Violations (and duplicates) that share a cause: the op that was dropped or
// torn, or the crash point when nothing was dropped.
struct ViolationGroup {
  Verdict verdict = Verdict::kOk;
  std::string cause;          // "dropped fsync {root}/incoming/#" / "crash after rename ..."
  int64_t count = 0;          // states in the group
  std::string example_state;  // one state id: the group's earliest (crash point, then id)
  std::string example_description;
  std::string example_detail;  // what the checker saw: "lost m1 -> bob@remote"
  std::string reproduce;       // a command that reproduces the verdict
  bool expected = false;       // the scenario expects this violation under this model
  Evidence evidence;           // for the example state (reports/evidence.h)
  uint64_t example_crash_seq = 0;  // the example's crash point (not serialized)
  // The example's content hash (the model's; 0 = unknown): replay checks
  // that it rebuilt the same state.
  uint64_t example_hash = 0;
  // The output of the target's recover and deliver on the example state:
  // its file, relative to --out ("logs/SCENARIO/posix-p5-d3.log"; "" when
  // none), and (not serialized) the text, until the run writes it there.
  std::string example_log{};
  std::string example_output{};
};

// Returns true iff state (seq_a, id_a) comes before (seq_b, id_b) in the
// order reports pick examples by: crash point, then id. One seed gives one
// report, however workers or shards finish.
inline bool StatePrecedes(uint64_t seq_a, const std::string& id_a, uint64_t seq_b,
                          const std::string& id_b) {
  return seq_a != seq_b ? seq_a < seq_b : id_a < id_b;
}

// `v` as 16 lowercase hex digits: the form of every hash in the reports
// (state hashes, digests, fingerprints).
std::string Hex64(uint64_t v);

// The order of a model's groups in every report: the most severe verdict
// first, then the largest, then by cause and example id (a total order, so
// a run, its interleavings and a merge of its shards list them alike).
bool GroupPrecedes(const ViolationGroup& a, const ViolationGroup& b);

// One scenario under one model.
struct ModelResult {
  std::string model;
  std::string strategy;
  int64_t states_explored = 0;   // crash states the model built, before deduplication
  // Crash points not built at all: after a sync that directly follows the
  // point before it, under prefix and omit-one, every state equals one of
  // that point (model/crash_states.h, CrashOptions::prune).
  int64_t crash_points_pruned = 0;
  int64_t states_unique = 0;     // distinct states checked (the verdicts add up to this)
  int64_t states_recovered = 0;  // of those, recovered here; the others were identical
                                 // to a state an earlier model already checked
  std::array<int64_t, kVerdictCount> verdicts{};  // per Verdict
  double duplicate_rate = 0;  // states with a duplicate delivery / states_unique
  std::vector<ViolationGroup> groups;
  bool passed = true;                             // expectations held
  std::vector<std::string> expectation_failures;  // why not, one line each
  double seconds = 0;
  bool truncated = false;  // exploration stopped at the scenario's max_states
  // The recorder missed something (a gap not listed as rebuilt, a fidelity
  // difference): crash states may lack what it missed, so "no violation"
  // here is not a proof. Never changes `passed`.
  bool inconclusive = false;
  std::vector<std::string> inconclusive_reasons;  // one line per gap
  // States whose copies were intact only after normalization (delivery's
  // trace headers, mbox framing: docs/target-contract.md, "Messages"), and
  // the kinds of normalization seen, sorted.
  int64_t states_normalized = 0;
  std::vector<std::string> normalizations;
  // Crash states not checked because their content depends on a recorder
  // gap (their reasons are in inconclusive_reasons): a gap never becomes a
  // verdict. Not counted in states_unique or verdicts.
  int64_t states_unproven = 0;
  // The crash states the model gave, in order (ids and crash points, every
  // shard's): equal digests, the same states to split. Shards of one run
  // must agree on it (aftershock merge).
  uint64_t states_digest = 0;
  int64_t Count(Verdict v) const { return verdicts[static_cast<int>(v)]; }
  // Adds `states` normalized states that showed `kinds`.
  void AddNormalized(int64_t states, const std::vector<std::string>& kinds);
};

struct ScenarioResult {
  std::string name;
  std::string file;
  std::string description;
  std::string target;                       // manifest name
  std::string target_file;                  // manifest path
  uint64_t seed = 0;                        // the scenario's seed (workload and sampling)
  // What the scenario (and --env) added to the manifest's [env], in order:
  // replay needs it to rebuild the same states.
  std::vector<std::pair<std::string, std::string>> env;
  Expectation expect;                       // what it was judged against
  std::string error;                        // the scenario could not run (input error)
  std::vector<std::string> workload_notes;  // e.g. "step 3 deliver exited 1"
  std::vector<ModelResult> models;
  bool Passed() const;
};

// Which share of a run's crash states a report holds (--shard K/N,
// docs/scale-out.md). count 0: all of them (an unsharded or merged run).
struct ShardSpec {
  int index = 0;       // 1-based
  int count = 0;
  std::string source;  // "--shard", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX"
  bool Active() const { return count > 0; }
  std::string Label() const { return std::to_string(index) + "/" + std::to_string(count); }
};

struct Report {
  std::string aftershock_version;
  uint64_t seed = 0;
  std::string started_utc;  // ISO 8601
  double seconds = 0;
  std::string command_line;
  // How the target's commands were confined (harness/target/run_dir.h,
  // ConfineTargets): "read-only outside ..." or why they were not.
  std::string sandbox;
  ShardSpec shard;        // this report is one shard's
  int merged_shards = 0;  // this report merges that many shards (aftershock merge)
  std::vector<ScenarioResult> scenarios;
  bool Passed() const;
  // True iff no scenario x model is inconclusive: a pass is then a proof
  // (within the models), not just the absence of a found violation.
  bool Proven() const;
};

// Exit status of a run (docs/cli.md): 0 every expectation held and every
// result is proven, 1 an expectation failed, 3 every expectation held but
// some result is not proven (inconclusive: a recorder gap).
inline constexpr int kExitNotProven = 3;
int ExitStatus(const Report& r);

}  // namespace aftershock
