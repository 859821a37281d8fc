// The crash-state generator: from the initial state and a trace, the states a
// crash may leave under a persistence model, streamed one at a time.
//
// A crash point is the moment just after an op (crash_seq = its seq; 0 =
// before the first op). At each point the window of pending units (see
// persistence.h) is what a crash may lose; a strategy picks which subsets to
// try. States are deduplicated by content hash together with the number of
// acknowledgement and delivery marks before the crash point, so that two
// points with equal files but different promises are both checked.
//
// Memory: the generator holds the current state, the base state before the
// oldest pending unit, and the pending window (bounded by max_window), never
// the states it emitted (only their 128-bit hashes, for dedup).
//
// Thread safety: a generator is used by one thread; the states it returns
// share inodes with it copy-on-write and may be used (materialized, copied)
// from other threads while it goes on.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "model/fs_state.h"
#include "model/op_source.h"
#include "model/persistence.h"
#include "model/status.h"

namespace aftershock {

enum class Strategy : uint8_t {
  kPrefix,      // every crash point, keeping every completed op the model does not lose
  kOmitOne,     // prefix, plus each pending op dropped alone (with what needs it), as ALICE
  kRandom,      // `random_count` crash points, each with a seeded random legal subset
  kExhaustive,  // every legal subset at every point, up to `exhaustive_bound` per point
};
inline constexpr Strategy kStrategies[] = {Strategy::kPrefix, Strategy::kOmitOne, Strategy::kRandom,
                                           Strategy::kExhaustive};
const char* StrategyName(Strategy s);
// Parses StrategyName()'s forms; nullopt for anything else.
std::optional<Strategy> ParseStrategy(std::string_view name);

struct CrashOptions {
  PersistenceModel model;
  Strategy strategy = Strategy::kPrefix;
  uint64_t random_count = 100;
  uint64_t seed = 1;
  uint64_t exhaustive_bound = 256;  // states per crash point
  // Crash points only after ops with seq in [seq_from, seq_to] ...
  uint64_t seq_from = 0;
  uint64_t seq_to = UINT64_MAX;
  // ... and only after ops of these processes (empty: all).
  std::vector<int32_t> pids;
  bool dedup = true;
  // With dedup, under prefix and omit-one: no crash point after a completed
  // sync that directly follows the last point (no other point, gap or
  // limit between them). A sync only makes pending units durable, so every
  // state there equals one at the point before, with the same promises:
  // dedup would merge it. Saves building and hashing it; counted in
  // CrashStats::pruned. The emitted states are the same, in the same order.
  bool prune = true;
  // Pending units beyond this many: the oldest is treated as durable
  // (counted in CrashStats::forced), which bounds memory and time.
  size_t max_window = 4096;
  uint64_t max_states = UINT64_MAX;  // stop after emitting this many
  std::string root;                  // crash domain root; empty: from the trace's kMeta
  // Files (relative to the root; fnmatch patterns, '*' within a name) the
  // target rebuilds on open: a gap on one of them leaves states known.
  std::vector<std::string> gap_rebuilt;
  // Found after the run, not in the trace (the fidelity check,
  // injector/fidelity.h): files the trace does not reproduce, relative to
  // the root; "" for the whole domain (a name the trace never made). From
  // the first op on, a state that holds one is not fully known.
  std::vector<std::string> unknown_files;
  std::string unknown_reason;  // e.g. "fidelity: q/f: bytes differ from offset 8"
};

struct TornInfo {
  uint64_t seq = 0;  // the write
  TornWrite sectors;
  uint32_t sector_count = 0;  // sectors the write touches
};

// What a crash state's content depends on that the recorder did not see:
// a kGap record before the crash point whose scope is the whole crash
// domain, or a file the state still holds. Such a state proves nothing
// either way; it must not be checked.
struct GapDependence {
  uint64_t gap_seq = 0;  // the kGap record
  std::string reason;    // "Maildir/tmp/m1: mremap of a shared file mapping: ..."
};

struct CrashState {
  std::string id;          // stable: "p41", "p41-d37", "p41-d37-t40s0.1", "p41-x1f3a09b2"
  uint64_t crash_seq = 0;  // ops with seq <= crash_seq completed
  std::vector<uint64_t> dropped_seqs;  // pending ops this state drops (chosen), ascending
  std::vector<TornInfo> torn;          // writes kept only in part
  std::vector<uint64_t> lost_seqs;     // writes lost to a failed fsync (not a choice)
  std::string
      description;  // "after op 41 (rename work/A -> ...); dropped op 37 (unlink incoming/A)"
  FsState state;
  uint64_t hash = 0;  // FsState::Hash()
  StateHash hash128;
  std::optional<GapDependence> gap;  // set: the content is not fully known
};

struct CrashStats {
  uint64_t ops = 0;           // ops read
  uint64_t crash_points = 0;  // points considered (within the limits)
  uint64_t generated = 0;     // states built
  uint64_t emitted = 0;       // states returned by Next
  uint64_t merged = 0;        // states not returned: same content and promises as an earlier one
  uint64_t pruned = 0;        // crash points skipped after a sync (CrashOptions::prune)
  uint64_t forced = 0;        // pending units made durable by max_window
  uint64_t truncated_points = 0;  // exhaustive points cut at the bound
  uint64_t max_window_seen = 0;
  uint64_t gaps = 0;      // kGap records: the trace is incomplete there; states may miss writes
  uint64_t unproven = 0;  // emitted states whose content depends on a gap (CrashState::gap)
};

class CrashStateGenerator {
 public:
  // REQUIRES: `source` outlives the generator.
  CrashStateGenerator(FsState initial, OpSource* source, CrashOptions options);

  // The next crash state, or nullopt when done or on error (see status()).
  std::optional<CrashState> Next();
  // Not ok when the trace could not be read or an op contradicts the model.
  const Status& status() const { return status_; }
  const CrashStats& stats() const { return stats_; }

 private:
  // A choice at the current crash point: window indices dropped (closed
  // under the model's requirements) and torn writes.
  struct Selection {
    std::vector<bool> dropped;
    std::vector<std::pair<size_t, std::vector<uint32_t>>> torn;
  };

  bool AdvanceToCrashPoint();  // reads ops until the next crash point within the limits
  bool ReadOp(Op* op);
  bool ConsumeOp(const Op& op);          // applies, updates window; false on error
  bool IsCandidate(const Op& op) const;  // a crash point before the limits are applied
  bool WithinLimits(const Op& op) const;
  // The op just consumed is a crash point CrashOptions::prune skips.
  bool Prunable() const;
  void FoldSettled();
  void RebuildFull();
  void PlanSelections();
  void PlanOmitOne();
  void PlanRandom(uint64_t draw);
  void PlanExhaustive();
  bool CountCandidates();
  CrashState Build(const Selection& sel);
  std::string Describe(const CrashState& cs) const;
  std::string Summarize(const Op& op) const;
  void NoteGap(const Op& op);  // crash_gaps.cc
  bool IsRebuilt(const std::string& rel) const;
  std::optional<GapDependence> DependenceOf(const FsState& state) const;

  CrashOptions options_;
  OpSource* source_;
  uint64_t last_read_seq_ = 0;  // ReadOp's last op: the source's seq order is asserted
  Status status_;
  CrashStats stats_;
  FsState tracking_;  // every op applied (strict)
  FsState base_;      // initial + units settled before the window
  FsState full_;      // base + every unit in the window that is not lost
  UnitWindow window_;
  std::vector<std::pair<uint64_t, std::string>> lost_;  // lost units: seq, summary
  bool started_ = false;
  // The last candidate op was a crash point, and no gap came after it: a
  // sync now may be pruned (CrashOptions::prune).
  bool may_prune_ = false;
  // The op just consumed only made pending units durable (ConsumeOp).
  bool only_made_durable_ = false;
  bool finished_ = false;
  uint64_t point_seq_ = 0;
  std::string point_summary_;
  uint64_t promises_ = 0;  // ack and sink marks so far
  std::vector<Selection> planned_;
  size_t next_planned_ = 0;
  std::set<std::tuple<uint64_t, uint64_t, uint64_t>> seen_;  // hash128, promises
  // Random strategy: candidate index -> draws at that point.
  std::map<uint64_t, std::vector<uint64_t>> draws_;
  uint64_t candidate_index_ = 0;
  // Blind spots so far (crash_gaps.cc): ino == kNoInode for the whole domain.
  struct Taint {
    uint64_t seq = 0;
    InodeId ino = kNoInode;
    std::string reason;
  };
  std::vector<Taint> taints_;
};

}  // namespace aftershock
