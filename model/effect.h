// What an op does to the persistent file system, in terms of inodes.
//
// FsState::Apply resolves each recorded op (paths, fds) against the state into
// effects; the crash-state generator replays subsets of those effects on the
// initial state. Effects name inodes by the FsState's own ids, never by path,
// so a replay that dropped a rename still writes to the right file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aftershock {

using InodeId = uint64_t;
inline constexpr InodeId kNoInode = 0;

enum class FileType : uint8_t { kRegular, kDirectory, kSymlink, kFifo };

enum class EffectKind : uint8_t {
  // Directory entries (metadata).
  kCreate,    // new inode `ino` (type, mode, data = symlink target) named dir/name;
              // dir == kNoInode: anonymous (O_TMPFILE)
  kLink,      // dir/name -> ino
  kUnlink,    // remove dir/name (which named ino); also rmdir
  kRename,    // dir/name -> dir2/name2 (ino); `other` = inode dir2/name2 named before, or 0
  kExchange,  // RENAME_EXCHANGE: dir/name (ino) <-> dir2/name2 (other)
  // Inode contents.
  kWrite,     // bytes `data` at `offset` of ino (zero-filled gap when past the end)
  kTruncate,  // size of ino becomes `offset`
  kChmod,     // permission bits of ino become `mode`
  // Durability events (change nothing in the state).
  kFsync,       // fsync of ino (file or directory) succeeded
  kFdatasync,   // fdatasync of ino succeeded
  kSync,        // sync / syncfs: everything before it is durable
  kFailedSync,  // fsync/fdatasync of ino failed with EIO: its dirty data is lost
  // A ranged sync of ino's bytes [offset, offset + length): what the kernel
  // does at the return of an O_SYNC/O_DSYNC or RWF_SYNC/RWF_DSYNC write and
  // for msync(MS_SYNC) (vfs_fsync_range). Data outside the range stays dirty.
  kFsyncRange,      // O_SYNC, RWF_SYNC: the inode's metadata too
  kFdatasyncRange,  // O_DSYNC, RWF_DSYNC, msync(MS_SYNC): the metadata needed to read it
};

struct Effect {
  EffectKind kind = EffectKind::kWrite;
  InodeId ino = kNoInode;
  InodeId dir = kNoInode;
  std::string name;
  InodeId dir2 = kNoInode;
  std::string name2;
  InodeId other = kNoInode;
  FileType type = FileType::kRegular;
  uint32_t mode = 0;
  uint64_t offset = 0;
  uint64_t length = 0;  // kFsyncRange, kFdatasyncRange
  std::string data;
  // kWrite of zeros by fallocate PUNCH_HOLE / ZERO_RANGE: ext4 does it as a
  // journaled change of the extent tree, not as data written back.
  bool extents = false;

  bool IsDurabilityEvent() const { return kind >= EffectKind::kFsync; }
  bool IsEntryChange() const { return kind <= EffectKind::kExchange; }
};

// Which sectors of a write persisted (torn writes). Sector k covers file bytes
// [k * sector_bytes, (k + 1) * sector_bytes); `kept` lists sector numbers
// relative to the first sector the write touches.
struct TornWrite {
  uint32_t sector_bytes = 512;
  std::vector<uint32_t> kept;
};

}  // namespace aftershock
