// The aftershock trace: binary, versioned, streaming. Defined once, here.
//
// The injector (inside the traced process, in a signal handler) writes it;
// the model and the harness read it. This header is the only piece the
// injector links: plain structs, constants and allocation-free helpers.
// Layout and meaning of every field: docs/trace-format.md.
//
// File = FileHeader, then records. Each record = RecordHeader, then the
// variable parts in this order: path, path2, module, data (lengths in the
// header), then the stack part (stack_len bytes: the call site's callers).
// A writer reserves each record's bytes in the file with one atomic add on
// FileHeader::tail (the header is mapped MAP_SHARED by every writer), then
// fills them: the preloaded recorder copies into its mapping of the file
// and stores the record's magic last; other writers pwrite. So records of
// concurrent processes never interleave, and a killed writer leaves a hole
// whose first four bytes are zero, which readers skip (TraceReader).
// Records may be out of seq order by a little (concurrent threads);
// readers order by seq.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

namespace aftershock::trace {

inline constexpr char kMagic[8] = {'A', 'F', 'T', 'S', 'H', 'K', 'T', 'R'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kRecordMagic = 0x52435341;  // "ASCR", little-endian

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_size;  // sizeof(FileHeader); lets a reader skip fields it does not know
  // Since header_size 32 (older traces have 16 and were appended with
  // O_APPEND): one past the last byte reserved for a record, and the bytes
  // the file has been extended to for writers that copy through a mapping.
  uint64_t tail;
  uint64_t allocated;
};
static_assert(sizeof(FileHeader) == 32);
inline constexpr uint32_t kLegacyHeaderSize = 16;

// True iff records are placed by reserving from h.tail.
inline bool HasTail(const FileHeader& h) { return h.header_size >= sizeof(FileHeader); }

// Reserves size bytes for one record in the trace whose header is mapped
// (MAP_SHARED) at header. Returns the record's file offset. Lock-free.
inline uint64_t ReserveRecord(FileHeader* header, uint64_t size) {
  return __atomic_fetch_add(&header->tail, size, __ATOMIC_SEQ_CST);
}

// What happened. Stable numbers: they are on disk. New kinds append.
enum class OpKind : uint16_t {
  kInvalid = 0,
  // File-system calls (one record per completed call, failed ones too).
  kOpen = 1,      // open/openat/creat/openat2. path; oflags; mode; result = fd; dev/ino of the file
  kWrite = 2,     // write/pwrite64/writev/pwritev(2). fd; offset = where the bytes landed; data
  kTruncate = 3,  // truncate/ftruncate. path or fd; length
  kFallocate = 4,       // fallocate. fd; oflags = mode flags; offset; length
  kRename = 5,          // rename/renameat/renameat2. path -> path2; oflags = RENAME_* flags
  kLink = 6,            // link/linkat. path (existing) -> path2 (new); fd/ino when AT_EMPTY_PATH
  kUnlink = 7,          // unlink/unlinkat without AT_REMOVEDIR. path
  kMkdir = 8,           // mkdir/mkdirat. path; mode
  kRmdir = 9,           // rmdir, unlinkat(AT_REMOVEDIR). path
  kSymlink = 10,        // symlink/symlinkat. data = target; path = the new link
  kChmod = 11,          // chmod/fchmod/fchmodat. path or fd; mode
  kFsync = 12,          // fsync. fd (a file or a directory)
  kFdatasync = 13,      // fdatasync. fd
  kSyncFileRange = 14,  // sync_file_range. fd; offset; length; oflags = flags
  kSyncfs = 15,         // syncfs. fd
  kSync = 16,           // sync
  kClose = 17,          // close. fd
  kDup = 18,            // dup/dup2/dup3/fcntl(F_DUPFD*). fd -> result
  kMknod = 19,          // mknod(at) of a regular file or fifo. path; mode
  kMsync = 20,  // msync of a shared file mapping. path, dev/ino; offset/length in the file; oflags
                // = MS_*
  // Process events.
  kFork = 32,  // fork/vfork/clone of a process. result = child pid
  kExec = 33,  // execve/execveat that succeeded. path = program
  kExit = 34,  // exit_group. result = status
  // Events that are not calls.
  kGap = 48,   // the recorder could not model something; path/data say what
  kMark = 49,  // a marker from the harness or the sink; path = label, data = payload
  kMeta = 50,  // run metadata; path = root of the crash domain, data = key=value lines
};

// Record flags.
inline constexpr uint16_t kFlagEscape = 1u << 0;     // mutation outside the target's root
inline constexpr uint16_t kFlagInjected = 1u << 1;   // the result was injected by a fault
inline constexpr uint16_t kFlagShort = 1u << 2;      // an injected short write
inline constexpr uint16_t kFlagKilled = 1u << 3;     // the process was killed at this op (after it)
inline constexpr uint16_t kFlagCreated = 1u << 4;    // kOpen created the file
inline constexpr uint16_t kFlagDirectory = 1u << 5;  // the fd/path is a directory
inline constexpr uint16_t kFlagNotPerformed = 1u << 6;  // not performed (killed just before it)
// kWrite: bytes stored through a shared writable mapping, read back by the
// recorder at a capture point (msync, munmap, exit, before a recorded call).
inline constexpr uint16_t kFlagMapped = 1u << 7;

// kGap `mode`: what the recorder's blind spot may have changed.
inline constexpr uint32_t kGapScopeDomain = 0;  // anything in the crash domain (old traces too)
inline constexpr uint32_t kGapScopeFile = 1;    // only the file the gap names (path, dev/ino)
inline constexpr uint32_t kGapScopeNone = 2;    // nothing: the call was refused or changed no file

struct RecordHeader {
  uint32_t magic;  // kRecordMagic
  uint32_t size;   // whole record: header + path + path2 + module + data
  uint64_t seq;    // one total order across every process and thread of the target
  uint16_t kind;   // OpKind
  uint16_t flags;  // kFlag*
  int32_t sysno;   // the raw syscall number (x86_64), -1 for events
  int32_t pid;
  int32_t tid;
  int64_t result;   // the call's return value (>= 0), or -1 with err set
  int32_t err;      // errno when result == -1, else 0
  int32_t fd;       // the fd operated on (or -1)
  int32_t fd2;      // second fd (dup target), dirfd as passed (AT_FDCWD = -100), or -1
  uint32_t oflags;  // open flags / rename flags / fallocate mode / sync_file_range flags
  uint32_t mode;    // mode for open/mkdir/chmod (permission bits), file type bits for kOpen result
  uint32_t stack_len;    // bytes of the stack part (after data); 0 = the call site only
  int64_t offset;        // write: the file offset where data landed; fallocate/sfr: offset
  uint64_t length;       // truncate/fallocate/sfr length; write: bytes requested
  uint64_t dev;          // identity of the file the op acts on: st_dev ...
  uint64_t ino;          // ... and st_ino (0 when unknown)
  uint64_t call_addr;    // return address of the call site in the target
  uint64_t call_offset;  // call_addr relative to the start of its module
  uint32_t path_len;     // absolute, resolved path (cwd and dirfd applied); not NUL-terminated
  uint32_t path2_len;    // second absolute path (rename/link target)
  uint32_t module_len;   // path of the module (ELF object) holding call_addr
  uint32_t data_len;     // bytes written (kWrite), symlink target, mark payload
  uint32_t checksum;     // XXH32 (seed 0) of the record with this field set to 0
  uint32_t reserved2;
};
static_assert(sizeof(RecordHeader) == 136);

inline constexpr uint32_t kMaxRecordSize = 1u << 30;  // a reader rejects larger records

// Sets result/err from a raw kernel result (-errno on failure).
inline void SetRawResult(RecordHeader* h, long raw) {
  if (raw < 0 && raw > -4096) {
    h->result = -1;
    h->err = static_cast<int32_t>(-raw);
  } else {
    h->result = raw;
    h->err = 0;
  }
}

// Name of a kind as `trace show` prints it ("open", "write", ...).
inline const char* KindName(OpKind k) {
  switch (k) {
    case OpKind::kOpen:
      return "open";
    case OpKind::kWrite:
      return "write";
    case OpKind::kTruncate:
      return "truncate";
    case OpKind::kFallocate:
      return "fallocate";
    case OpKind::kRename:
      return "rename";
    case OpKind::kLink:
      return "link";
    case OpKind::kUnlink:
      return "unlink";
    case OpKind::kMkdir:
      return "mkdir";
    case OpKind::kRmdir:
      return "rmdir";
    case OpKind::kSymlink:
      return "symlink";
    case OpKind::kChmod:
      return "chmod";
    case OpKind::kFsync:
      return "fsync";
    case OpKind::kFdatasync:
      return "fdatasync";
    case OpKind::kSyncFileRange:
      return "sync_file_range";
    case OpKind::kSyncfs:
      return "syncfs";
    case OpKind::kSync:
      return "sync";
    case OpKind::kClose:
      return "close";
    case OpKind::kDup:
      return "dup";
    case OpKind::kMknod:
      return "mknod";
    case OpKind::kMsync:
      return "msync";
    case OpKind::kFork:
      return "fork";
    case OpKind::kExec:
      return "exec";
    case OpKind::kExit:
      return "exit";
    case OpKind::kGap:
      return "GAP";
    case OpKind::kMark:
      return "mark";
    case OpKind::kMeta:
      return "meta";
    case OpKind::kInvalid:
      break;
  }
  return "?";
}

// The stack part of a record: the callers of the call site (call_offset in
// module is frame 0), innermost first. StackPart, then `count` StackFrames,
// then `module_count` module names, each a u32 length and its bytes. A
// frame's `module` is 0 for the record's own module, k for the k-th name.
struct StackPart {
  uint8_t count;         // frames that follow (at most kMaxCallers)
  uint8_t method;        // kStack*: how they were found
  uint8_t module_count;  // module names after the frames
  uint8_t reserved;
};
struct StackFrame {
  uint64_t offset;  // return address relative to its module, as call_offset
  uint32_t module;
  uint32_t reserved;
};
static_assert(sizeof(StackPart) == 4 && sizeof(StackFrame) == 16);
inline constexpr int kMaxCallers = 7;              // with the call site, 8 frames
inline constexpr uint8_t kStackFramePointers = 1;  // walked along the saved frame pointers
inline constexpr uint8_t kStackScan = 2;           // stack words after a call instruction

// A module name of a stack part.
struct StackName {
  const void* data;
  uint32_t len;
};

// The size of a stack part of `count` frames and these module names.
inline size_t StackPartSize(int count, const StackName* names, int name_count) {
  size_t n = sizeof(StackPart) + sizeof(StackFrame) * static_cast<size_t>(count);
  for (int k = 0; k < name_count; ++k) n += 4 + names[k].len;
  return n;
}

// Writes a stack part into buf, which holds StackPartSize bytes, and
// returns its size. Allocation-free and async-signal-safe (no libc).
inline uint32_t WriteStackPart(uint8_t method, const StackFrame* frames, int count,
                               const StackName* names, int name_count, char* buf) {
  size_t at = 0;
  auto put = [&](const void* from, size_t n) {
    for (size_t i = 0; i < n; ++i) buf[at + i] = static_cast<const char*>(from)[i];
    at += n;
  };
  StackPart part{static_cast<uint8_t>(count), method, static_cast<uint8_t>(name_count), 0};
  put(&part, sizeof part);
  put(frames, sizeof(StackFrame) * static_cast<size_t>(count));
  for (int k = 0; k < name_count; ++k) {
    put(&names[k].len, 4);
    put(names[k].data, names[k].len);
  }
  return static_cast<uint32_t>(at);
}

// Total size of a record whose lengths are set in h.
inline uint64_t RecordSize(const RecordHeader& h) {
  return sizeof(RecordHeader) + uint64_t{h.path_len} + h.path2_len + h.module_len + h.data_len +
         h.stack_len;
}

// Fills in magic, size and checksum of `h` (lengths already set) and points
// iov at header, path, path2, module, the data buffers (whose lengths add up
// to h->data_len) and the stack part: 5 + data_count entries. The caller
// appends the record with one writev(fd, iov, 5 + data_count) on an
// O_APPEND fd. Allocation-free and async-signal-safe.
inline void SealRecordIov(RecordHeader* h, const void* path, const void* path2, const void* module,
                          const struct iovec* data, int data_count, const void* stack,
                          struct iovec* iov) {
  h->magic = kRecordMagic;
  h->size = static_cast<uint32_t>(RecordSize(*h));
  h->checksum = 0;
  iov[0] = {h, sizeof(RecordHeader)};
  iov[1] = {const_cast<void*>(path), h->path_len};
  iov[2] = {const_cast<void*>(path2), h->path2_len};
  iov[3] = {const_cast<void*>(module), h->module_len};
  for (int i = 0; i < data_count; ++i) iov[4 + i] = data[i];
  iov[4 + data_count] = {const_cast<void*>(stack), h->stack_len};
  XXH32_state_t st;
  XXH32_reset(&st, 0);
  for (int i = 0; i < 5 + data_count; ++i) {
    if (iov[i].iov_len > 0) XXH32_update(&st, iov[i].iov_base, iov[i].iov_len);
  }
  h->checksum = XXH32_digest(&st);
}

// As SealRecordIov with the data in one buffer: iov[0..5].
inline void SealRecord(RecordHeader* h, const void* path, const void* path2, const void* module,
                       const void* data, const void* stack, struct iovec iov[6]) {
  struct iovec one = {const_cast<void*>(data), h->data_len};
  SealRecordIov(h, path, path2, module, &one, 1, stack, iov);
}

// Checks a complete record held in memory (size bytes at `rec`). Returns
// true iff magic, size and checksum agree.
inline bool RecordIsIntact(const void* rec, size_t size) {
  if (size < sizeof(RecordHeader)) return false;
  RecordHeader h;
  memcpy(&h, rec, sizeof h);
  if (h.magic != kRecordMagic || h.size != size) return false;
  uint64_t parts = RecordSize(h) - sizeof(RecordHeader);
  if (RecordSize(h) != size) return false;
  uint32_t want = h.checksum;
  h.checksum = 0;
  XXH32_state_t st;
  XXH32_reset(&st, 0);
  XXH32_update(&st, &h, sizeof h);
  if (parts > 0) XXH32_update(&st, static_cast<const char*>(rec) + sizeof h, parts);
  return XXH32_digest(&st) == want;
}

}  // namespace aftershock::trace
