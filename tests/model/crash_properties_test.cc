// Properties of the crash-state generator over random traces, checked
// against an oracle that restates each model's rules directly from their
// definitions (docs/models.md), op by op, without the generator's window.
#include <errno.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "model/trace_builder.h"
#include "tests/model/crash_test_util.h"

namespace aftershock {

struct TraceAction {
  int kind;
  int a, b;
  int size;
};

namespace {

const char* kNames[] = {"f0", "f1", "f2", "d/f0", "d/f1", "d/f2"};

struct Generated {
  FsState initial;
  std::vector<Op> ops;
};

// A random workload over six names in two directories, every file kept open.
Generated MakeTrace(const std::vector<TraceAction>& actions) {
  Generated g;
  EXPECT_TRUE(g.initial.AddDirectory("d", 0755).ok());
  EXPECT_TRUE(g.initial.AddFile("f0", "initial", 0644).ok());
  TraceBuilder t("/r", &g.initial);
  std::map<std::string, int> fds;
  fds["f0"] = t.Open("f0", O_RDWR);
  std::map<int, int> dir_fd = {{0, t.OpenDir("")}, {1, t.OpenDir("d")}};
  int marks = 0;
  for (const TraceAction& x : actions) {
    std::string p = kNames[x.a % 6], q = kNames[x.b % 6];
    bool has_p = fds.count(p) != 0, has_q = fds.count(q) != 0;
    std::string data(static_cast<size_t>(x.size), static_cast<char>('a' + x.b % 26));
    switch (x.kind % 14) {
      case 0:
        if (!has_p) fds[p] = t.Create(p, 0600, O_RDWR);
        break;
      case 1:
        if (has_p) t.Pwrite(fds[p], static_cast<uint64_t>(x.b % 1500), data);
        break;
      case 2:
        if (has_p) t.Write(fds[p], data);
        break;
      case 3:
        if (has_p) t.Fsync(fds[p]);
        break;
      case 4:
        if (has_p) t.Fdatasync(fds[p]);
        break;
      case 5:
        t.Fsync(dir_fd[x.b % 2]);
        break;
      case 6:
        if (has_p && p != q && !(has_q && fds[p] == fds[q])) {
          t.Rename(p, q);
          fds[q] = fds[p];
          fds.erase(p);
        }
        break;
      case 7:
        if (has_p && !has_q) {
          t.Link(p, q);
          fds[q] = fds[p];
        }
        break;
      case 8:
        if (has_p) {
          t.Unlink(p);
          fds.erase(p);
        }
        break;
      case 9:
        if (has_p) t.Fchmod(fds[p], 0600 | static_cast<uint32_t>(x.b & 0111));
        break;
      case 10:
        if (x.b % 4 == 0) t.Sync();
        break;
      case 11:
        if (has_p) t.Ftruncate(fds[p], static_cast<uint64_t>(x.size));
        break;
      case 12:
        if (has_p) t.Fsync(fds[p], EIO);
        break;
      case 13:
        t.Mark("ack", "m" + std::to_string(++marks) + " a@local");
        break;
    }
  }
  g.ops = t.ops();
  return g;
}

// What each op did, from a tracking replay.
struct OpInfo {
  uint64_t seq = 0;
  std::vector<Effect> effects;  // non-durability effects
  bool unit = false;
  enum { kData, kMode, kEntry } cls = kData;
  bool has_write = false;
  bool size_only = false;
  bool replaces = false;
  InodeId ino = kNoInode;
  InodeId parent = kNoInode;
  std::vector<std::pair<InodeId, std::string>> entries;  // (dir, name) set or removed
  // A durability event of this op, if any.
  std::optional<Effect> sync;
};

std::vector<OpInfo> Analyze(const Generated& g) {
  std::vector<OpInfo> out;
  FsState s = g.initial;
  for (const Op& op : g.ops) {
    std::vector<Effect> effects;
    EXPECT_TRUE(s.Apply(op, &effects).ok());
    OpInfo info;
    info.seq = op.seq;
    for (const Effect& e : effects) {
      if (e.IsDurabilityEvent()) {
        info.sync = e;
      } else {
        info.effects.push_back(e);
      }
    }
    if (!info.effects.empty()) {
      info.unit = true;
      const Effect& e = info.effects.front();
      info.ino = e.ino;
      info.size_only = true;
      for (const Effect& x : info.effects) {
        info.has_write |= x.kind == EffectKind::kWrite;
        info.size_only &= x.kind == EffectKind::kTruncate;
      }
      if (e.kind == EffectKind::kChmod) {
        info.cls = OpInfo::kMode;
      } else if (e.kind == EffectKind::kWrite || e.kind == EffectKind::kTruncate) {
        info.cls = OpInfo::kData;
      } else {
        info.cls = OpInfo::kEntry;
        bool moves = e.kind == EffectKind::kRename || e.kind == EffectKind::kExchange;
        info.parent = moves ? e.dir2 : e.dir;
        info.replaces = moves && e.other != kNoInode;
        if (e.dir != kNoInode) info.entries.emplace_back(e.dir, e.name);
        if (moves) info.entries.emplace_back(e.dir2, e.name2);
      }
    }
    out.push_back(std::move(info));
  }
  return out;
}

class Oracle {
 public:
  Oracle(const Generated& g, PersistenceModel m) : g_(g), m_(m), info_(Analyze(g)) {}

  bool Metadata(const OpInfo& u) const { return u.cls != OpInfo::kData || u.size_only; }

  // Returns true iff unit u is durable once every op with seq <= at completed.
  bool Durable(const OpInfo& u, uint64_t at) const {
    if (m_.kind == ModelKind::kProcess) return true;
    const bool ext4 = m_.kind == ModelKind::kExt4Ordered;
    for (const OpInfo& s : info_) {
      if (s.seq <= u.seq || s.seq > at || !s.sync) continue;
      const Effect& e = *s.sync;
      if (e.kind == EffectKind::kFailedSync) continue;
      if (e.kind == EffectKind::kSync) return true;
      const bool full = e.kind == EffectKind::kFsync;
      if (ext4 && Metadata(u)) return true;
      switch (u.cls) {
        case OpInfo::kData:
          if (u.ino == e.ino) return true;
          break;
        case OpInfo::kMode:
          if (u.ino == e.ino && (full || ext4)) return true;
          break;
        case OpInfo::kEntry:
          if (u.parent == e.ino) return true;
          break;
      }
    }
    if (ext4 && u.cls == OpInfo::kData && !u.size_only) {
      // Required by a durable rename that replaced a file with this one.
      for (const OpInfo& r : info_) {
        if (r.seq <= u.seq || r.seq > at || !r.unit || !r.replaces || r.ino != u.ino) continue;
        if (!Durable(r, at)) continue;
        if (Lost(u, r.seq) || Durable(u, r.seq)) continue;
        return true;
      }
    }
    return false;
  }

  // Returns true iff unit u is lost to a failed fsync by `at`.
  bool Lost(const OpInfo& u, uint64_t at) const {
    if (m_.kind == ModelKind::kProcess || u.cls != OpInfo::kData || u.size_only) return false;
    for (const OpInfo& s : info_) {
      if (s.seq <= u.seq || s.seq > at || !s.sync) continue;
      if (s.sync->kind == EffectKind::kFailedSync && s.sync->ino == u.ino &&
          !Durable(u, s.seq - 1)) {
        return true;
      }
    }
    return false;
  }

  // Empty iff `cs` is a legal crash state under the model; else why not.
  std::string Check(const CrashState& cs) const {
    const uint64_t p = cs.crash_seq;
    std::set<uint64_t> dropped(cs.dropped_seqs.begin(), cs.dropped_seqs.end());
    std::map<uint64_t, const TornInfo*> torn;
    for (const TornInfo& t : cs.torn) torn[t.seq] = &t;
    std::set<uint64_t> lost;
    for (const OpInfo& u : info_) {
      if (u.unit && u.seq <= p && Lost(u, p)) lost.insert(u.seq);
    }
    if (std::set<uint64_t>(cs.lost_seqs.begin(), cs.lost_seqs.end()) != lost) {
      return "lost ops differ";
    }
    for (const OpInfo& u : info_) {
      if (!u.unit || u.seq > p) {
        if (dropped.count(u.seq) || torn.count(u.seq)) return "chose a non-unit or future op";
        continue;
      }
      const bool pending = !Settled(u, p) && !lost.count(u.seq);
      if ((dropped.count(u.seq) || torn.count(u.seq)) && !pending) {
        return "dropped or tore op " + std::to_string(u.seq) + ", which is not pending";
      }
      if (m_.kind != ModelKind::kExt4Ordered || !dropped.count(u.seq)) continue;
      for (const OpInfo& v : info_) {
        if (!v.unit || v.seq > p || v.seq <= u.seq || dropped.count(v.seq)) continue;
        if (Metadata(u) && Metadata(v)) {
          return "kept metadata op " + std::to_string(v.seq) + " after dropped " +
                 std::to_string(u.seq);
        }
        if (v.replaces && v.ino == u.ino && u.has_write && u.cls == OpInfo::kData) {
          return "kept replacing rename " + std::to_string(v.seq) + " without its data";
        }
      }
    }
    for (const auto& [seq, t] : torn) {
      if (t->sectors.kept.empty() || t->sectors.kept.size() >= t->sector_count ||
          t->sector_count < 2) {
        return "torn write keeps none or all of its sectors";
      }
      if (t->sectors.sector_bytes != m_.torn_sector_bytes) return "wrong sector size";
    }
    // The content: the initial state with the kept ops, in order.
    FsState expect = g_.initial;
    expect.KeepOrphans();
    for (const OpInfo& u : info_) {
      if (!u.unit || u.seq > p || lost.count(u.seq)) continue;
      if (dropped.count(u.seq)) {
        for (const Effect& e : u.effects) expect.ReplayAllocation(e);
        continue;
      }
      auto t = torn.find(u.seq);
      for (const Effect& e : u.effects) {
        expect.Replay(e, t == torn.end() ? nullptr : &t->second->sectors);
      }
    }
    auto diff = Diff(expect, cs.state);
    return diff ? "content: expected vs generated: " + *diff : "";
  }

  const std::vector<OpInfo>& info() const { return info_; }

  // Returns true iff u is durable, or an entry change that a later settled
  // change of the same entries supersedes (dropping u changes nothing).
  bool Settled(const OpInfo& u, uint64_t at) const {
    if (Durable(u, at)) return true;
    if (u.cls != OpInfo::kEntry || u.entries.empty()) return false;
    for (const OpInfo& v : info_) {
      if (v.seq <= u.seq || v.seq > at || !v.unit || v.cls != OpInfo::kEntry) continue;
      bool covered = true;
      for (const auto& key : u.entries) {
        covered &= std::find(v.entries.begin(), v.entries.end(), key) != v.entries.end();
      }
      if (covered && Settled(v, at)) return true;
    }
    return false;
  }

  // Seqs of the units a crash right after op `p` may drop.
  std::set<uint64_t> Pending(uint64_t p) const {
    std::set<uint64_t> out;
    for (const OpInfo& u : info_) {
      if (u.unit && u.seq <= p && !Settled(u, p) && !Lost(u, p)) out.insert(u.seq);
    }
    return out;
  }

 private:
  const Generated& g_;
  PersistenceModel m_;
  std::vector<OpInfo> info_;
};

const char* kModels[] = {"process", "posix", "ext4-ordered", "posix+torn", "ext4-ordered+torn4096"};

CrashOptions Options(const std::string& model, Strategy strategy) {
  CrashOptions o;
  o.model = *PersistenceModel::Parse(model);
  o.strategy = strategy;
  o.random_count = 50;
  o.seed = 7;
  o.exhaustive_bound = 64;
  return o;
}

RC_GTEST_PROP(CrashProperties, ProcessAtTheLastOpEqualsApplyingTheWholeTrace,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  FsState all = g.initial;
  for (const Op& op : g.ops) RC_ASSERT(all.Apply(op).ok());
  CrashOptions o = Options("process", Strategy::kPrefix);
  o.dedup = false;
  RunResult r = RunGenerator(g.initial, g.ops, o);
  RC_ASSERT(r.status.ok());
  RC_ASSERT(!r.states.empty());
  auto diff = Diff(r.states.back().state, all);
  if (diff) RC_FAIL(*diff);
}

RC_GTEST_PROP(CrashProperties, EveryGeneratedStateIsLegalUnderItsModel,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  bool torn = false, multi = false, lost = false;
  for (const char* model : kModels) {
    Oracle oracle(g, *PersistenceModel::Parse(model));
    for (Strategy s :
         {Strategy::kPrefix, Strategy::kOmitOne, Strategy::kRandom, Strategy::kExhaustive}) {
      CrashOptions o = Options(model, s);
      o.dedup = false;
      RunResult r = RunGenerator(g.initial, g.ops, o);
      if (!r.status.ok()) RC_FAIL(r.status.message());
      for (const CrashState& cs : r.states) {
        torn |= !cs.torn.empty();
        multi |= cs.dropped_seqs.size() >= 2;
        lost |= !cs.lost_seqs.empty();
        std::string why = oracle.Check(cs);
        if (!why.empty()) {
          RC_FAIL(std::string(model) + " " + StrategyName(s) + " " + cs.id + ": " + why);
        }
      }
    }
  }
  RC_TAG(torn ? "torn" : "-", multi ? "two or more dropped" : "-", lost ? "lost" : "-");
}

RC_GTEST_PROP(CrashProperties, OmitOneDropsEachPendingOpAtEachCrashPoint,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  for (const char* model : kModels) {
    Oracle oracle(g, *PersistenceModel::Parse(model));
    CrashOptions o = Options(model, Strategy::kOmitOne);
    o.dedup = false;
    RunResult r = RunGenerator(g.initial, g.ops, o);
    RC_ASSERT(r.status.ok());
    std::map<uint64_t, std::set<uint64_t>> first_dropped;  // crash point -> omitted ops
    for (const CrashState& cs : r.states) {
      auto& at = first_dropped[cs.crash_seq];
      if (!cs.dropped_seqs.empty()) at.insert(cs.dropped_seqs.front());
    }
    for (const auto& [p, omitted] : first_dropped) {
      if (omitted != oracle.Pending(p)) {
        RC_FAIL(std::string(model) + ": at p" + std::to_string(p) +
                " omit-one did not drop exactly the pending ops");
      }
    }
  }
}

RC_GTEST_PROP(CrashProperties, WhatACompletedFsyncCoveredIsInEveryState,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  std::vector<OpInfo> info = Analyze(g);
  auto synced_after = [&](InodeId ino, uint64_t after, uint64_t upto, bool data_only) {
    for (const OpInfo& s : info) {
      if (s.seq <= after || s.seq > upto || !s.sync) continue;
      if (s.sync->kind == EffectKind::kSync) return true;
      if (s.sync->ino != ino) continue;
      if (s.sync->kind == EffectKind::kFsync) return true;
      if (s.sync->kind == EffectKind::kFdatasync && data_only) return true;
    }
    return false;
  };
  for (const char* model : kModels) {
    for (Strategy strategy : {Strategy::kOmitOne, Strategy::kRandom}) {
      CrashOptions o = Options(model, strategy);
      o.dedup = false;
      RunResult r = RunGenerator(g.initial, g.ops, o);
      RC_ASSERT(r.status.ok());
      for (const CrashState& cs : r.states) {
        const uint64_t p = cs.crash_seq;
        FsState now = g.initial;  // what the process saw at the crash point
        for (const Op& op : g.ops) {
          if (op.seq <= p) RC_ASSERT(now.Apply(op).ok());
        }
        now.Walk([&](const std::string& path, InodeId ino, const Inode& n, const std::string&) {
          if (n.type != FileType::kRegular) return;
          const size_t slash = path.rfind('/');
          const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
          const InodeId dir = *now.Lookup(slash == std::string::npos ? "" : path.substr(0, slash));
          uint64_t last_data = 0, last_mode = 0, last_entry = 0;
          bool failed = false;
          for (const OpInfo& u : info) {
            if (u.seq > p) break;
            if (u.sync && u.sync->kind == EffectKind::kFailedSync && u.sync->ino == ino)
              failed = true;
            for (const Effect& e : u.effects) {
              if (e.ino == ino && (e.kind == EffectKind::kWrite || e.kind == EffectKind::kTruncate))
                last_data = u.seq;
              if (e.ino == ino && e.kind == EffectKind::kChmod) last_mode = u.seq;
              if ((e.dir == dir && e.name == name) || (e.dir2 == dir && e.name2 == name))
                last_entry = u.seq;
            }
          }
          if (failed) return;
          const bool data = last_data == 0 || synced_after(ino, last_data, p, true);
          const bool entry = last_entry == 0 || synced_after(dir, last_entry, p, true);
          if (!data || !entry) return;
          const Inode* got = cs.state.Stat(path);
          if (got == nullptr || got->data != n.data) {
            RC_FAIL(std::string(model) + " " + cs.id + ": " + path + " was fsynced but " +
                    (got == nullptr ? "is missing" : "has other bytes"));
          }
          if ((last_mode == 0 || synced_after(ino, last_mode, p, false)) && got->mode != n.mode) {
            RC_FAIL(std::string(model) + " " + cs.id + ": " + path + " mode was fsynced");
          }
        });
      }
    }
  }
}

RC_GTEST_PROP(CrashProperties, DedupNeverMergesTwoDifferentStates,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  for (const char* model : {"posix+torn", "ext4-ordered"}) {
    CrashOptions o = Options(model, Strategy::kOmitOne);
    o.dedup = false;
    RunResult all = RunGenerator(g.initial, g.ops, o);
    std::map<StateHash, const CrashState*> by_hash;
    for (const CrashState& cs : all.states) {
      auto [it, fresh] = by_hash.emplace(cs.hash128, &cs);
      if (fresh) continue;
      auto diff = Diff(it->second->state, cs.state);
      if (diff)
        RC_FAIL("same hash, different states " + it->second->id + " " + cs.id + ": " + *diff);
    }
    // Equal content gives equal hashes (else dedup would miss merges).
    for (size_t i = 1; i < all.states.size(); ++i) {
      const CrashState& a = all.states[i - 1];
      const CrashState& b = all.states[i];
      RC_ASSERT((a.state == b.state) == (a.hash128 == b.hash128));
    }
    o.dedup = true;
    o.prune = false;  // every state built, so that generated counts them all
    RunResult merged = RunGenerator(g.initial, g.ops, o);
    RC_ASSERT(merged.stats.generated == all.states.size());
    RC_ASSERT(merged.stats.emitted + merged.stats.merged == merged.stats.generated);
    // Dedup keeps one state per (content, acks and deliveries before it).
    std::set<std::pair<StateHash, size_t>> distinct;
    for (const CrashState& cs : all.states) {
      size_t promises = 0;
      for (const Op& op : g.ops) {
        promises += op.seq <= cs.crash_seq && op.kind == OpKind::kMark &&
                    (op.path == "ack" || op.path == "sink");
      }
      distinct.emplace(cs.hash128, promises);
    }
    RC_ASSERT(merged.states.size() == distinct.size());
    for (const CrashState& cs : merged.states) RC_ASSERT(by_hash.count(cs.hash128) == 1u);
  }
}

// Pruning the crash points after syncs saves work and changes nothing:
// the same states, with the same ids and content, in the same order.
RC_GTEST_PROP(CrashProperties, PruningAfterSyncsKeepsEveryEmittedState,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  bool pruned = false;
  for (const char* model : kModels) {
    for (Strategy s : {Strategy::kPrefix, Strategy::kOmitOne}) {
      CrashOptions o = Options(model, s);
      o.prune = false;
      RunResult all = RunGenerator(g.initial, g.ops, o);
      o.prune = true;
      RunResult fewer = RunGenerator(g.initial, g.ops, o);
      RC_ASSERT(all.status.ok() && fewer.status.ok());
      pruned |= fewer.stats.pruned > 0;
      RC_ASSERT(fewer.stats.generated <= all.stats.generated);
      if (fewer.states.size() != all.states.size()) {
        RC_FAIL(std::string(model) + " " + StrategyName(s) + ": " +
                std::to_string(fewer.states.size()) + " states pruned, " +
                std::to_string(all.states.size()) + " without");
      }
      for (size_t i = 0; i < all.states.size(); ++i) {
        RC_ASSERT(fewer.states[i].id == all.states[i].id);
        RC_ASSERT(fewer.states[i].hash128 == all.states[i].hash128);
      }
    }
  }
  RC_TAG(pruned ? "pruned" : "-");
}

RC_GTEST_PROP(CrashProperties, GeneratedStatesSurviveMaterializeAndCapture,
              (std::vector<TraceAction> actions)) {
  Generated g = MakeTrace(actions);
  CrashOptions o = Options("posix+torn", Strategy::kRandom);
  o.random_count = 3;
  RunResult r = RunGenerator(g.initial, g.ops, o);
  RC_ASSERT(r.status.ok());
  std::string base = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") +
                     std::string("/aftershock-crash-prop.XXXXXX");
  std::string dir = mkdtemp(base.data());
  for (const CrashState& cs : r.states) {
    std::string sub = dir + "/" + cs.id;
    RC_ASSERT(::mkdir(sub.c_str(), 0700) == 0);
    RC_ASSERT(Materialize(cs.state, sub).ok());
    Status st;
    auto back = Capture(sub, &st);
    RC_ASSERT(back.has_value());
    RC_ASSERT(back->Hash128() == cs.hash128);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace aftershock

namespace rc {
template <>
struct Arbitrary<aftershock::TraceAction> {
  static Gen<aftershock::TraceAction> arbitrary() {
    return gen::build<aftershock::TraceAction>(
        gen::set(&aftershock::TraceAction::kind, gen::inRange(0, 14)),
        gen::set(&aftershock::TraceAction::a, gen::inRange(0, 6)),
        gen::set(&aftershock::TraceAction::b, gen::inRange(0, 3000)),
        gen::set(&aftershock::TraceAction::size, gen::inRange(0, 1300)));
  }
};
}  // namespace rc
