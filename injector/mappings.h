// Shared writable mappings of files. A store through one is not a call, so
// the recorder keeps a shadow copy of each mapping and, at capture points
// (before every recorded call of the process, msync, munmap, mremap,
// execve, exit_group), records what changed since as writes flagged
// kFlagMapped, read from the mapping itself. What is still approximate: a
// store followed by a crash before the next capture point is not in the
// trace (docs/injector.md). Runs inside the SIGSYS handler: raw syscalls,
// no allocation beyond mmap.
#pragma once

#include <stdint.h>
#include <ucontext.h>

#include "injector/runtime.h"

namespace aftershock::inject {

// Starts tracking [addr, addr + len), mapped MAP_SHARED from the file of
// slot `s` at file offset `file_off`. Returns false when it cannot (table
// full, too many bytes): the caller records a gap then.
bool TrackMapping(uint64_t addr, uint64_t len, const FdSlot* s, int64_t file_off);

// Records the stores made through every tracked mapping of this process
// since the last capture, as writes with sysno `sysno`.
void CaptureMappings(long sysno, const ucontext_t* uc);

// Forgets the tracked mappings inside [addr, addr + len) (after capturing
// them): munmap, mremap. Returns true iff a mapping was cut in the middle
// (its tail is no longer tracked: a gap).
bool UntrackRange(uint64_t addr, uint64_t len, const ucontext_t* uc);

// The tracked mapping holding addr, for msync: file identity and the file
// offset of addr. Returns false when addr is in no tracked mapping.
struct MappedFile {
  uint64_t dev;
  uint64_t ino;
  int64_t file_off;  // of addr
  uint64_t len;      // bytes from addr to the end of the mapping
  const char* path;
  uint32_t path_len;
  bool escape;
};
bool FindMapping(uint64_t addr, MappedFile* out);

// After a write(2)-family call moved bytes into [off, off + len) of the
// file (dev, ino): the mappings of it show them too, and they are not
// stores; the shadows take them in.
void RefreshShadows(uint64_t dev, uint64_t ino, int64_t off, uint64_t len);

// A forked child starts with the table's lock free.
void ResetMappingLock();

}  // namespace aftershock::inject
