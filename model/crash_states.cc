#include "model/crash_states.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace aftershock {

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kPrefix:
      return "prefix";
    case Strategy::kOmitOne:
      return "omit-one";
    case Strategy::kRandom:
      return "random";
    case Strategy::kExhaustive:
      return "exhaustive";
  }
  return "?";
}

std::optional<Strategy> ParseStrategy(std::string_view name) {
  for (Strategy s : kStrategies) {
    if (name == StrategyName(s)) return s;
  }
  return std::nullopt;
}

CrashStateGenerator::CrashStateGenerator(FsState initial, OpSource* source, CrashOptions options)
    : options_(std::move(options)),
      source_(source),
      tracking_(initial),
      base_(initial),
      full_(std::move(initial)),
      window_(options_.model) {
  if (!options_.root.empty()) tracking_.SetRoot(options_.root);
}

std::optional<CrashState> CrashStateGenerator::Next() {
  while (status_.ok() && !finished_ && stats_.emitted < options_.max_states) {
    if (next_planned_ < planned_.size()) {
      CrashState cs = Build(planned_[next_planned_++]);
      ++stats_.generated;
      // A state that depends on a gap is never merged into a known one.
      const uint64_t key = promises_ * 2 + (cs.gap ? 1 : 0);
      if (options_.dedup && !seen_.emplace(cs.hash128.high, cs.hash128.low, key).second) {
        ++stats_.merged;
        continue;
      }
      ++stats_.emitted;
      if (cs.gap) ++stats_.unproven;
      return cs;
    }
    planned_.clear();
    next_planned_ = 0;
    if (!AdvanceToCrashPoint()) {
      finished_ = true;
      break;
    }
    PlanSelections();
  }
  return std::nullopt;
}

bool CrashStateGenerator::IsCandidate(const Op& op) const {
  using K = OpKind;
  if (op.kind == K::kMark) return op.path == "ack" || op.path == "sink";
  if (op.Has(trace::kFlagEscape)) return false;
  if (op.Failed()) return (op.kind == K::kFsync || op.kind == K::kFdatasync) && op.err == EIO;
  switch (op.kind) {
    case K::kOpen:
      return (op.oflags & (O_CREAT | O_TRUNC)) != 0 || (op.oflags & __O_TMPFILE) == __O_TMPFILE;
    case K::kWrite:
      return op.result > 0;
    case K::kTruncate:
    case K::kFallocate:
    case K::kRename:
    case K::kLink:
    case K::kUnlink:
    case K::kMkdir:
    case K::kRmdir:
    case K::kSymlink:
    case K::kChmod:
    case K::kMknod:
    case K::kFsync:
    case K::kFdatasync:
    case K::kSync:
    case K::kSyncfs:
      return true;
    case K::kMsync:
      return (op.oflags & MS_SYNC) != 0;
    default:
      return false;
  }
}

bool CrashStateGenerator::Prunable() const {
  if (!options_.prune || !options_.dedup || !may_prune_ || !only_made_durable_) return false;
  return options_.strategy == Strategy::kPrefix || options_.strategy == Strategy::kOmitOne;
}

bool CrashStateGenerator::WithinLimits(const Op& op) const {
  if (op.seq < options_.seq_from || op.seq > options_.seq_to) return false;
  if (options_.pids.empty()) return true;
  return std::find(options_.pids.begin(), options_.pids.end(), op.pid) != options_.pids.end();
}

bool CrashStateGenerator::ReadOp(Op* op) {
  auto next = source_->Next();
  if (!next) {
    std::string err = source_->Error();
    if (!err.empty()) status_ = Status::Error(err);
    return false;
  }
  // The trace's total order: every source hands ops in seq order (a file
  // source puts records back in order or fails), which the pending window
  // and the crash points rely on.
  assert(next->seq >= last_read_seq_);
  last_read_seq_ = next->seq;
  *op = std::move(*next);
  return true;
}

bool CrashStateGenerator::CountCandidates() {
  uint64_t count = (options_.seq_from == 0 && options_.pids.empty()) ? 1 : 0;
  Op op;
  while (ReadOp(&op)) {
    if (IsCandidate(op) && WithinLimits(op)) ++count;
  }
  if (!status_.ok()) return false;
  last_read_seq_ = 0;
  if (!source_->Rewind()) {
    status_ = Status::Error("the random strategy reads the trace twice, and it cannot restart");
    return false;
  }
  if (count == 0) return true;
  std::mt19937_64 rng(options_.seed);
  for (uint64_t j = 0; j < options_.random_count; ++j) draws_[rng() % count].push_back(j);
  return true;
}

bool CrashStateGenerator::AdvanceToCrashPoint() {
  if (!started_) {
    started_ = true;
    if (options_.strategy == Strategy::kRandom && !CountCandidates()) return false;
    if (options_.seq_from == 0 && options_.pids.empty()) {
      point_seq_ = 0;
      point_summary_.clear();
      ++candidate_index_;
      ++stats_.crash_points;
      may_prune_ = true;
      return true;
    }
  }
  Op op;
  while (ReadOp(&op)) {
    if (!ConsumeOp(op)) return false;
    if (op.kind == OpKind::kGap) may_prune_ = false;
    if (!IsCandidate(op)) continue;
    if (!WithinLimits(op)) {
      may_prune_ = false;
      continue;
    }
    if (Prunable()) {
      ++stats_.pruned;
      continue;
    }
    may_prune_ = true;
    ++candidate_index_;
    point_seq_ = op.seq;
    point_summary_ = Summarize(op);
    ++stats_.crash_points;
    return true;
  }
  return false;
}

bool CrashStateGenerator::ConsumeOp(const Op& op) {
  ++stats_.ops;
  if (op.kind == OpKind::kGap) {
    ++stats_.gaps;
    NoteGap(op);
  }
  if (op.kind == OpKind::kMark && (op.path == "ack" || op.path == "sink")) ++promises_;
  std::vector<Effect> effects;
  Status st = tracking_.Apply(op, &effects);
  if (!st.ok()) {
    status_ = st;
    return false;
  }
  // What the model says the op did, not what its kind suggests: only syncs
  // that lose nothing (a failed one loses pages) and change no file.
  only_made_durable_ = !effects.empty();
  for (const Effect& e : effects) {
    only_made_durable_ &= e.IsDurabilityEvent() && e.kind != EffectKind::kFailedSync;
  }
  Unit unit;
  if (MakeUnit(effects, options_.model.torn_sector_bytes, &unit)) {
    unit.seq = op.seq;
    unit.pid = op.pid;
    unit.summary = Summarize(op);
    for (const Effect& e : unit.effects) full_.Replay(e);
    window_.Add(std::move(unit));
  }
  for (const Effect& e : effects) {
    if (!e.IsDurabilityEvent()) continue;
    std::vector<uint64_t> lost = window_.OnDurabilityEvent(e);
    if (lost.empty()) continue;
    for (uint64_t n : lost) {
      const Unit& u = window_.at(*window_.IndexOf(n));
      lost_.emplace_back(u.seq, u.summary);
    }
    RebuildFull();
  }
  FoldSettled();
  while (window_.size() > options_.max_window) {
    window_.ForceOldest();
    ++stats_.forced;
    FoldSettled();
  }
  // The memory bound: the pending window never holds more than max_window units.
  assert(window_.size() <= options_.max_window);
  stats_.max_window_seen = std::max<uint64_t>(stats_.max_window_seen, window_.size());
  return true;
}

void CrashStateGenerator::FoldSettled() {
  while (auto u = window_.PopSettled()) {
    if (u->status != UnitStatus::kDurable) continue;  // lost: never on disk
    for (const Effect& e : u->effects) base_.Replay(e);
  }
}

void CrashStateGenerator::RebuildFull() {
  full_ = base_;
  for (size_t i = 0; i < window_.size(); ++i) {
    const Unit& u = window_.at(i);
    if (u.status == UnitStatus::kLost) continue;
    for (const Effect& e : u.effects) full_.Replay(e);
  }
}

CrashState CrashStateGenerator::Build(const Selection& sel) {
  CrashState cs;
  cs.crash_seq = point_seq_;
  const bool everything = sel.torn.empty() && std::none_of(sel.dropped.begin(), sel.dropped.end(),
                                                           [](bool b) { return b; });
  if (everything) {
    cs.state = full_;
  } else {
    cs.state = base_;
    cs.state.KeepOrphans();
    for (size_t i = 0; i < window_.size(); ++i) {
      const Unit& u = window_.at(i);
      if (u.status == UnitStatus::kLost) continue;
      if (sel.dropped[i]) {
        cs.dropped_seqs.push_back(u.seq);
        for (const Effect& e : u.effects) cs.state.ReplayAllocation(e);
        continue;
      }
      auto torn = std::find_if(sel.torn.begin(), sel.torn.end(),
                               [i](const auto& t) { return t.first == i; });
      if (torn == sel.torn.end()) {
        for (const Effect& e : u.effects) cs.state.Replay(e);
        continue;
      }
      TornInfo info;
      info.seq = u.seq;
      info.sectors.sector_bytes = options_.model.torn_sector_bytes;
      info.sectors.kept = torn->second;
      info.sector_count = u.sectors;
      cs.state.Replay(u.effects.front(), &info.sectors);
      cs.torn.push_back(std::move(info));
    }
  }
  for (const auto& [seq, summary] : lost_) cs.lost_seqs.push_back(seq);
  // Stable id: the crash point and the choices, spelled out when short.
  std::string parts;
  size_t count = 0;
  size_t d = 0, t = 0;
  while (d < cs.dropped_seqs.size() || t < cs.torn.size()) {
    ++count;
    if (t == cs.torn.size() ||
        (d < cs.dropped_seqs.size() && cs.dropped_seqs[d] < cs.torn[t].seq)) {
      parts += "-d" + std::to_string(cs.dropped_seqs[d++]);
      continue;
    }
    parts += "-t" + std::to_string(cs.torn[t].seq) + "s";
    for (size_t k = 0; k < cs.torn[t].sectors.kept.size(); ++k) {
      parts += (k == 0 ? "" : ".") + std::to_string(cs.torn[t].sectors.kept[k]);
    }
    ++t;
  }
  cs.id = "p" + std::to_string(cs.crash_seq);
  if (count <= 4) {
    cs.id += parts;
  } else {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", XXH32(parts.data(), parts.size(), 0));
    cs.id += "-x" + std::string(hex);
  }
  cs.hash128 = cs.state.Hash128();
  cs.hash = cs.hash128.low;
  cs.gap = DependenceOf(cs.state);
  cs.description = Describe(cs);
  if (cs.gap) cs.description += "; depends on the recorder's " + cs.gap->reason;
  return cs;
}

}  // namespace aftershock
