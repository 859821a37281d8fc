#include "model/persistence.h"

#include <algorithm>
#include <cassert>
#include <set>

namespace aftershock {

std::string PersistenceModel::Name() const {
  std::string s;
  switch (kind) {
    case ModelKind::kProcess:
      s = "process";
      break;
    case ModelKind::kPosix:
      s = "posix";
      break;
    case ModelKind::kExt4Ordered:
      s = "ext4-ordered";
      break;
  }
  if (torn_sector_bytes == 512) s += "+torn";
  if (torn_sector_bytes != 0 && torn_sector_bytes != 512) {
    s += "+torn" + std::to_string(torn_sector_bytes);
  }
  if (dirsync) s += "+dirsync";
  return s;
}

std::optional<PersistenceModel> PersistenceModel::Parse(std::string_view name) {
  PersistenceModel m;
  std::string_view base = name.substr(0, name.find('+'));
  if (base == "process") {
    m.kind = ModelKind::kProcess;
  } else if (base == "posix") {
    m.kind = ModelKind::kPosix;
  } else if (base == "ext4-ordered") {
    m.kind = ModelKind::kExt4Ordered;
  } else {
    return std::nullopt;
  }
  std::string_view rest = name.substr(base.size());
  // A killed process tears nothing and syncs nothing: it has no options.
  if (!rest.empty() && m.kind == ModelKind::kProcess) return std::nullopt;
  while (!rest.empty()) {  // "+torn", then "+dirsync", each at most once
    rest.remove_prefix(1);
    std::string_view opt = rest.substr(0, rest.find('+'));
    rest.remove_prefix(opt.size());
    const bool torn = opt == "torn" || opt == "torn512" || opt == "torn4096";
    if (torn && m.torn_sector_bytes == 0 && !m.dirsync) {
      m.torn_sector_bytes = opt == "torn4096" ? 4096 : 512;
    } else if (opt == "dirsync" && !m.dirsync) {
      m.dirsync = true;
    } else {
      return std::nullopt;
    }
  }
  return m;
}

bool MakeUnit(const std::vector<Effect>& effects, uint32_t torn_sector_bytes, Unit* unit) {
  std::vector<Effect> kept;
  for (const Effect& e : effects) {
    if (!e.IsDurabilityEvent()) kept.push_back(e);
  }
  if (kept.empty()) return false;
  const Effect& first = kept.front();
  unit->ino = first.ino;
  if (first.IsEntryChange()) {
    unit->cls = UnitClass::kEntry;
    const bool moves = first.kind == EffectKind::kRename || first.kind == EffectKind::kExchange;
    unit->parent = moves ? first.dir2 : first.dir;
    // An O_TMPFILE inode has no entry yet: the fsync of the file itself makes
    // its allocation durable.
    if (first.kind == EffectKind::kCreate && first.dir == kNoInode) unit->parent = first.ino;
    unit->replaces = moves && first.other != kNoInode;
    if (first.dir != kNoInode) unit->entries.emplace_back(first.dir, first.name);
    if (moves) unit->entries.emplace_back(first.dir2, first.name2);
  } else if (first.kind == EffectKind::kChmod) {
    unit->cls = UnitClass::kMode;
  } else {
    unit->cls = UnitClass::kData;
    unit->size_only = std::all_of(kept.begin(), kept.end(),
                                  [](const Effect& e) { return e.kind == EffectKind::kTruncate; });
    unit->extents =
        std::all_of(kept.begin(), kept.end(),
                    [](const Effect& e) { return e.extents || e.kind == EffectKind::kTruncate; }) &&
        !unit->size_only;
    if (kept.size() == 1 && first.kind == EffectKind::kWrite && torn_sector_bytes != 0 &&
        !first.data.empty() && !unit->extents) {
      uint64_t lo = first.offset / torn_sector_bytes;
      uint64_t hi = (first.offset + first.data.size() - 1) / torn_sector_bytes;
      unit->sectors = static_cast<uint32_t>(std::min<uint64_t>(hi - lo + 1, 1u << 30));
    }
  }
  unit->effects = std::move(kept);
  return true;
}

bool UnitWindow::IsMetadata(const Unit& u) const {
  // ext4 punches a hole or zeroes a range in the journal (ext4_punch_hole,
  // ext4_zero_range: extents removed or made unwritten under a handle).
  const bool journaled_extents = u.extents && model_.kind == ModelKind::kExt4Ordered;
  return u.cls != UnitClass::kData || u.size_only || journaled_extents;
}

void UnitWindow::Add(Unit unit) {
  unit.number = next_number_++;
  unit.needs.clear();
  unit.status = UnitStatus::kPending;
  if (model_.kind == ModelKind::kProcess) unit.status = UnitStatus::kDurable;
  if (model_.kind == ModelKind::kExt4Ordered) {
    // The journal commits metadata in program order: a kept metadata change
    // keeps the one before it (and so, transitively, all before it).
    if (IsMetadata(unit)) {
      for (auto it = units_.rbegin(); it != units_.rend(); ++it) {
        if (it->status == UnitStatus::kPending && IsMetadata(*it)) {
          unit.needs.push_back(it->number);
          break;
        }
      }
    }
    // auto_da_alloc: the data of a file reaches disk before the rename that
    // replaces another file with it.
    if (unit.replaces) {
      for (const Unit& u : units_) {
        if (u.status == UnitStatus::kPending && u.cls == UnitClass::kData && !u.size_only &&
            u.ino == unit.ino) {
          unit.needs.push_back(u.number);
        }
      }
    }
  }
  if (model_.torn_sector_bytes == 0 || model_.kind == ModelKind::kProcess) unit.sectors = 0;
  // dirsync: the directory operation reached the disk before the call
  // returned (and, on ext4, the journal transaction that carried it, with
  // every metadata change before it: MakeDurable follows `needs`). An
  // O_TMPFILE allocation names no directory: its fsync decides, as before.
  const bool directory_op = unit.cls == UnitClass::kEntry && !unit.entries.empty();
  units_.push_back(std::move(unit));
  if (model_.dirsync && directory_op) MakeDurable(units_.size() - 1);
}

std::vector<uint64_t> UnitWindow::OnDurabilityEvent(const Effect& e) {
  std::vector<uint64_t> lost;
  if (model_.kind == ModelKind::kProcess) return lost;  // the page cache survives
  const bool ext4 = model_.kind == ModelKind::kExt4Ordered;
  for (size_t i = 0; i < units_.size(); ++i) {
    Unit& u = units_[i];
    if (u.status != UnitStatus::kPending) continue;
    switch (e.kind) {
      case EffectKind::kSync:
        MakeDurable(i);
        break;
      case EffectKind::kFailedSync:
        // fsyncgate: the pages are marked clean although they never reached
        // the disk; a later fsync has nothing left to write.
        if (u.cls == UnitClass::kData && !u.size_only && u.ino == e.ino) {
          u.status = UnitStatus::kLost;
          lost.push_back(u.number);
        }
        break;
      case EffectKind::kFsyncRange:
      case EffectKind::kFdatasyncRange:
        if (RangeSyncCovers(u, e)) MakeDurable(i);
        break;
      case EffectKind::kFsync:
      case EffectKind::kFdatasync: {
        const bool full = e.kind == EffectKind::kFsync;
        bool durable = false;
        if (ext4) {
          // Any fsync commits the running journal transaction.
          durable = IsMetadata(u) || u.ino == e.ino;
        } else {
          switch (u.cls) {
            case UnitClass::kData:
              durable = u.ino == e.ino;
              break;
            case UnitClass::kMode:
              durable = full && u.ino == e.ino;
              break;
            case UnitClass::kEntry:
              durable = u.parent == e.ino;
              break;
          }
        }
        if (durable) MakeDurable(i);
        break;
      }
      default:
        break;
    }
  }
  return lost;
}

namespace {

// True iff every byte `u` writes lies in the pages of [offset, offset +
// length): writeback is by page, so a ranged sync flushes whole pages.
// Size changes (truncate, extension) are the metadata a data sync needs.
bool WritesWithin(const Unit& u, uint64_t offset, uint64_t length) {
  constexpr uint64_t kPage = 4096;
  const uint64_t lo = offset / kPage * kPage;
  const uint64_t hi = (offset + length + kPage - 1) / kPage * kPage;
  return std::all_of(u.effects.begin(), u.effects.end(), [&](const Effect& x) {
    if (x.kind != EffectKind::kWrite) return true;
    return x.offset >= lo && x.offset + x.data.size() <= hi;
  });
}

}  // namespace

// A ranged sync (vfs_fsync_range: O_SYNC/O_DSYNC writes, RWF_*SYNC,
// msync(MS_SYNC)) is fsync/fdatasync restricted to the pages of a range:
// other dirty pages of the file stay dirty (ext4_sync_file writes back only
// file_write_and_wait_range(start, end)), but it commits the journal.
bool UnitWindow::RangeSyncCovers(const Unit& u, const Effect& e) const {
  assert(e.kind == EffectKind::kFsyncRange || e.kind == EffectKind::kFdatasyncRange);
  const bool full = e.kind == EffectKind::kFsyncRange;
  const bool data =
      u.cls == UnitClass::kData && u.ino == e.ino && WritesWithin(u, e.offset, e.length);
  if (model_.kind == ModelKind::kExt4Ordered) return IsMetadata(u) || data;
  switch (u.cls) {
    case UnitClass::kData:
      return data;
    case UnitClass::kMode:
      return full && u.ino == e.ino;
    case UnitClass::kEntry:
      return u.parent == e.ino;  // an O_TMPFILE inode's allocation, as fsync
  }
  return false;
}

void UnitWindow::MakeDurable(size_t index) {
  Unit& u = units_[index];
  if (u.status != UnitStatus::kPending) return;
  u.status = UnitStatus::kDurable;
  for (uint64_t r : u.needs) {
    if (auto i = IndexOf(r)) MakeDurable(*i);
  }
  SettleSuperseded(index);
}

// Once an entry change is durable, an earlier pending change of the same
// entries can no longer make a difference: whether or not it persisted, the
// durable one decides what those names hold. Settling it keeps the window
// (and the work per crash state) small, e.g. for creates in a temporary
// directory that is never fsynced but whose files are renamed away.
void UnitWindow::SettleSuperseded(size_t index) {
  const Unit& v = units_[index];
  if (v.cls != UnitClass::kEntry || v.entries.empty()) return;
  for (size_t i = index; i-- > 0;) {
    Unit& u = units_[i];
    if (u.status != UnitStatus::kPending || u.cls != UnitClass::kEntry || u.entries.empty()) {
      continue;
    }
    bool covered = std::all_of(u.entries.begin(), u.entries.end(), [&v](const auto& key) {
      return std::find(v.entries.begin(), v.entries.end(), key) != v.entries.end();
    });
    if (covered) MakeDurable(i);
  }
}

void UnitWindow::ForceOldest() {
  for (size_t i = 0; i < units_.size(); ++i) {
    if (units_[i].status == UnitStatus::kPending) {
      MakeDurable(i);
      return;
    }
  }
}

std::optional<Unit> UnitWindow::PopSettled() {
  if (units_.empty() || units_.front().status == UnitStatus::kPending) return std::nullopt;
  Unit u = std::move(units_.front());
  units_.pop_front();
  return u;
}

std::optional<size_t> UnitWindow::IndexOf(uint64_t number) const {
  if (units_.empty() || number < units_.front().number) return std::nullopt;
  uint64_t i = number - units_.front().number;
  if (i >= units_.size()) return std::nullopt;
  return static_cast<size_t>(i);
}

std::vector<bool> UnitWindow::DropClosure(const std::vector<size_t>& drop) const {
  std::vector<bool> mask(units_.size(), false);
  for (size_t i : drop) {
    if (units_[i].status == UnitStatus::kPending) mask[i] = true;
  }
  for (size_t i = 0; i < units_.size(); ++i) {
    const Unit& u = units_[i];
    if (mask[i] || u.status != UnitStatus::kPending) continue;
    for (uint64_t r : u.needs) {
      auto j = IndexOf(r);
      if (j && mask[*j]) {
        mask[i] = true;
        break;
      }
    }
  }
  return mask;
}

bool UnitWindow::IsLegal(const std::vector<bool>& dropped) const {
  for (size_t i = 0; i < units_.size(); ++i) {
    const Unit& u = units_[i];
    if (u.status == UnitStatus::kLost) continue;  // always absent
    if (dropped[i]) {
      if (u.status == UnitStatus::kDurable) return false;
      continue;
    }
    for (uint64_t r : u.needs) {
      auto j = IndexOf(r);
      if (j && dropped[*j] && units_[*j].status != UnitStatus::kLost) return false;
    }
  }
  return true;
}

std::vector<std::vector<uint32_t>> TornVariants(uint32_t sectors, bool all) {
  std::vector<std::vector<uint32_t>> out;
  if (sectors < 2) return out;
  if (all && sectors <= 4) {
    for (uint32_t mask = 1; mask + 1 < (1u << sectors); ++mask) {
      std::vector<uint32_t> kept;
      for (uint32_t k = 0; k < sectors; ++k) {
        if ((mask >> k) & 1) kept.push_back(k);
      }
      out.push_back(std::move(kept));
    }
    return out;
  }
  // The write stopped part way (a prefix of its sectors reached the disk),
  // or the disk wrote its sectors out of order (a suffix did).
  std::set<uint32_t> cuts = {1, sectors / 2, sectors - 1};
  for (uint32_t k : cuts) {
    if (k == 0 || k >= sectors) continue;
    std::vector<uint32_t> prefix, suffix;
    for (uint32_t s = 0; s < k; ++s) prefix.push_back(s);
    for (uint32_t s = k; s < sectors; ++s) suffix.push_back(s);
    out.push_back(std::move(prefix));
    out.push_back(std::move(suffix));
  }
  return out;
}

}  // namespace aftershock
