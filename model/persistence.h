// Persistence models: which of the not-yet-durable operations a crash may
// keep. One model, three named strategies and one option (torn writes); the
// rules live in UnitWindow, nowhere else.
//
// Each op that changes the state becomes a Unit (its effects persist
// together or not at all, except torn writes). A unit is pending until a
// successful sync makes it durable, or lost when a failed fsync drops the
// dirty data it carried. A crash keeps every durable unit, no lost one, and
// any subset of the pending ones that is closed under `needs` (a kept
// unit keeps what it needs).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/effect.h"

namespace aftershock {

enum class ModelKind : uint8_t {
  kProcess,      // a killed process: every completed call persists, in order
  kPosix,        // weakest honest: durable only what an fsync of the right object covered
  kExt4Ordered,  // journal order for metadata, data before a replacing rename
};

struct PersistenceModel {
  ModelKind kind = ModelKind::kPosix;
  // 0: writes persist whole or not at all. 512 or 4096: an un-synced write
  // may persist as a subset of the sectors it touches (posix, ext4 only).
  uint32_t torn_sector_bytes = 0;
  // A file system mounted `dirsync` (or directories marked `chattr +S`):
  // every directory operation (create, link, unlink, rename, mkdir, rmdir,
  // symlink) is durable when the call returns; file data and modes still
  // need their fsync. posix and ext4 only.
  bool dirsync = false;

  // "process", "posix", "ext4-ordered", "posix+torn" (512-byte sectors),
  // "ext4-ordered+torn4096", "posix+dirsync", "posix+torn+dirsync".
  std::string Name() const;
  // Parses Name()'s forms; nullopt for anything else.
  static std::optional<PersistenceModel> Parse(std::string_view name);
  // The forms Parse accepts, for people (error messages, --help).
  static constexpr const char* kNamesHelp =
      "process, posix, posix+torn, ext4-ordered, ext4-ordered+torn; +torn4096 for 4 KiB sectors; "
      "+dirsync for directory operations durable at return";
};

enum class UnitClass : uint8_t {
  kData,   // bytes and size of `ino` (write, truncate, fallocate)
  kMode,   // permission bits of `ino` (chmod)
  kEntry,  // a directory entry (create, link, unlink, rename, mkdir, rmdir, symlink)
};

enum class UnitStatus : uint8_t { kPending, kDurable, kLost };

struct Unit {
  uint64_t number = 0;  // position among all units, from 0
  uint64_t seq = 0;     // the op's seq
  int32_t pid = 0;
  std::string summary;  // "rename incoming/A -> active/A"
  std::vector<Effect> effects;
  UnitClass cls = UnitClass::kData;
  bool size_only = false;     // kData made of truncates only (metadata for ext4)
  bool extents = false;       // kData made of punched/zeroed ranges (metadata for ext4)
  InodeId ino = kNoInode;     // the file acted on / the inode an entry names
  InodeId parent = kNoInode;  // kEntry: the directory whose fsync persists it (rename: target's)
  bool replaces = false;      // a rename onto an existing file
  uint32_t sectors = 0;       // a lone write: sectors it touches (>= 2: may tear)
  // kEntry: the (directory, name) entries it sets or removes.
  std::vector<std::pair<InodeId, std::string>> entries;
  UnitStatus status = UnitStatus::kPending;
  std::vector<uint64_t> needs;  // unit numbers a kept copy of this unit needs kept

  // Returns true iff this unit is a lone write that may persist torn.
  bool Tearable() const { return sectors >= 2; }
};

// Classifies an op's effects into a unit (cls, ino, parent, ...); false when
// the effects change nothing persistent (durability events only, or none).
bool MakeUnit(const std::vector<Effect>& effects, uint32_t torn_sector_bytes, Unit* unit);

// The units not yet settled (durable or lost), with the model's rules.
class UnitWindow {
 public:
  explicit UnitWindow(PersistenceModel model) : model_(model) {}

  const PersistenceModel& model() const { return model_; }
  // Appends a unit (its number is assigned here) and links its requirements.
  void Add(Unit unit);
  // A durability event (kFsync, kFdatasync, kSync, kFailedSync, and the
  // ranged kFsyncRange, kFdatasyncRange) after every
  // unit added so far. Returns the numbers of the units it made lost.
  std::vector<uint64_t> OnDurabilityEvent(const Effect& e);
  // Makes the oldest pending unit durable (the window's size bound).
  void ForceOldest();

  // Units in order; the front ones may be settled until PopSettled.
  size_t size() const { return units_.size(); }
  const Unit& at(size_t i) const { return units_[i]; }
  // Removes and returns the front unit if it is settled.
  std::optional<Unit> PopSettled();
  // Index in the window of unit `number`, or nullopt when already popped.
  std::optional<size_t> IndexOf(uint64_t number) const;

  // Given `drop` (window indices of pending units to drop), adds every
  // pending unit that needs a dropped one. Returns the closed set as a
  // mask over window indices.
  std::vector<bool> DropClosure(const std::vector<size_t>& drop) const;
  // Returns true iff dropping exactly `dropped` (mask) is legal: no durable
  // unit dropped, every lost unit dropped, every kept unit's requirements kept.
  bool IsLegal(const std::vector<bool>& dropped) const;

 private:
  void MakeDurable(size_t index);
  void SettleSuperseded(size_t index);
  bool IsMetadata(const Unit& u) const;
  bool RangeSyncCovers(const Unit& u, const Effect& e) const;

  PersistenceModel model_;
  std::deque<Unit> units_;
  uint64_t next_number_ = 0;
};

// Sector variants tried for a torn write of `sectors` sectors: kept sector
// lists (relative to the first), each neither empty nor all. `all` lists
// every proper non-empty subset (for small writes), otherwise a few prefixes
// and suffixes.
std::vector<std::vector<uint32_t>> TornVariants(uint32_t sectors, bool all);

}  // namespace aftershock
