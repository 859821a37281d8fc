// FsState::Apply: resolves a recorded op (absolute paths, fds named by
// dev/ino) against the state into effects on inodes, then replays them.
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cstdio>

#include "model/op_resolver.h"

namespace aftershock {

Status OpResolver::Resolve(bool* ignored) {
  using K = OpKind;
  if (op_.Has(trace::kFlagEscape)) {
    *ignored = true;
    return Status::Ok();
  }
  if (s_.root_.empty() && op_.kind < K::kFork && op_.kind != K::kInvalid) {
    return Fail("the crash domain's root is unknown (no kMeta record before it, no SetRoot)");
  }
  if (op_.Failed() && !((op_.kind == K::kFsync || op_.kind == K::kFdatasync) && op_.err == EIO)) {
    return Status::Ok();  // a failed call changes nothing
  }
  switch (op_.kind) {
    case K::kOpen:
      return Open(ignored);
    case K::kWrite:
      return Write(ignored);
    case K::kTruncate:
      return Truncate(ignored);
    case K::kFallocate: {
      InodeId id = kNoInode;
      Status st = FdInode(&id, ignored);
      if (!st.ok() || *ignored) return st;
      return Fallocate(id);
    }
    case K::kRename:
      return Rename(ignored);
    case K::kLink:
      return Link(ignored);
    case K::kUnlink:
    case K::kRmdir:
      return Unlink(ignored);
    case K::kMkdir:
      return Create(FileType::kDirectory, CreateMode(op_.mode), "");
    case K::kSymlink:
      return Create(FileType::kSymlink, 0777, op_.data);
    case K::kMknod:
      return Mknod();
    case K::kChmod:
      return Chmod(ignored);
    case K::kFsync:
    case K::kFdatasync:
      return Fsync(ignored);
    case K::kSyncfs:
    case K::kSync: {
      Effect e;
      e.kind = EffectKind::kSync;
      Add(std::move(e));
      return Status::Ok();
    }
    case K::kMeta:
      Meta();
      return Status::Ok();
    case K::kMsync:
      return Msync(ignored);
    // sync_file_range flushes no metadata and no disk cache: not a durability point.
    case K::kSyncFileRange:
    case K::kClose:
    case K::kDup:
    case K::kFork:
    case K::kExec:
    case K::kExit:
    case K::kGap:
    case K::kMark:
    case K::kInvalid:
      return Status::Ok();
  }
  return Status::Ok();
}

Status OpResolver::Write(bool* ignored) {
  InodeId id = kNoInode;
  Status st = FdInode(&id, ignored);
  if (!st.ok() || *ignored) return st;
  if (s_.Find(id)->type != FileType::kRegular) return Fail("writes to a non-regular file");
  if (op_.offset < 0) return Fail("negative offset");
  uint64_t n = static_cast<uint64_t>(op_.result);
  // The recorder could not carry the bytes (a gap names the file, which
  // crash states then do not claim to know): nothing to replay.
  if (n > 0 && op_.data.empty()) return Status::Ok();
  if (n > op_.data.size()) return Fail("recorded fewer bytes than it wrote");
  if (n == 0) return Status::Ok();
  Effect e;
  e.kind = EffectKind::kWrite;
  e.ino = id;
  e.offset = static_cast<uint64_t>(op_.offset);
  e.data = op_.data.substr(0, n);
  Add(std::move(e));
  AddWriteSync(id, static_cast<uint64_t>(op_.offset), n);
  return Status::Ok();
}

Status OpResolver::Truncate(bool* ignored) {
  InodeId id = kNoInode;
  Status st = PathOrFd(&id, ignored);
  if (!st.ok() || *ignored) return st;
  if (s_.Find(id)->type != FileType::kRegular) return Fail("truncates a non-regular file");
  Effect e;
  e.kind = EffectKind::kTruncate;
  e.ino = id;
  e.offset = op_.length;
  Add(std::move(e));
  return Status::Ok();
}

Status OpResolver::Rename(bool* ignored) {
  auto from = Rel(op_.path);
  auto to = Rel(op_.path2);
  if (!from && !to) {
    *ignored = true;
    return Status::Ok();
  }
  if (!from || !to) return Fail("renames across the crash domain's boundary");
  return Rename();
}

Status OpResolver::Unlink(bool* ignored) {
  auto rel = Rel(op_.path);
  if (!rel) {
    *ignored = true;
    return Status::Ok();
  }
  InodeId dir = kNoInode;
  std::string name;
  Status st = Parent(*rel, &dir, &name);
  if (!st.ok()) return st;
  auto it = s_.Find(dir)->entries.find(name);
  if (it == s_.Find(dir)->entries.end()) return Fail("the model has no " + *rel);
  const Inode* n = s_.Find(it->second);
  bool is_dir = n->type == FileType::kDirectory;
  if (op_.kind == OpKind::kUnlink && is_dir) return Fail(*rel + " is a directory");
  if (op_.kind == OpKind::kRmdir && !is_dir) return Fail(*rel + " is not a directory");
  if (op_.kind == OpKind::kRmdir && !n->entries.empty()) return Fail(*rel + " is not empty");
  Effect e;
  e.kind = EffectKind::kUnlink;
  e.dir = dir;
  e.name = name;
  e.ino = it->second;
  Add(std::move(e));
  return Status::Ok();
}

Status OpResolver::Mknod() {
  uint32_t fmt = op_.mode & S_IFMT;
  if (fmt == S_IFIFO) return Create(FileType::kFifo, CreateMode(op_.mode), "");
  if (fmt == 0 || fmt == S_IFREG) return Create(FileType::kRegular, CreateMode(op_.mode), "");
  return Fail("device and socket nodes are not modelled");
}

Status OpResolver::Chmod(bool* ignored) {
  InodeId id = kNoInode;
  Status st = PathOrFd(&id, ignored);
  if (!st.ok() || *ignored) return st;
  Effect e;
  e.kind = EffectKind::kChmod;
  e.ino = id;
  e.mode = op_.mode & 07777;
  Add(std::move(e));
  return Status::Ok();
}

// fsync and fdatasync; one that failed with EIO is recorded as such (the
// model decides what survives a failed sync).
Status OpResolver::Fsync(bool* ignored) {
  InodeId id = kNoInode;
  Status st = FdInode(&id, ignored);
  if (!st.ok() || *ignored) return st;
  Effect e;
  e.kind = op_.Failed() ? EffectKind::kFailedSync
                        : (op_.kind == OpKind::kFsync ? EffectKind::kFsync : EffectKind::kFdatasync);
  e.ino = id;
  Add(std::move(e));
  return Status::Ok();
}

// A kMeta record: the crash domain's root (when not set) and the umask.
void OpResolver::Meta() {
  if (s_.root_.empty() && !op_.path.empty()) s_.SetRoot(op_.path);
  for (size_t pos = 0; pos < op_.data.size();) {
    size_t end = op_.data.find('\n', pos);
    if (end == std::string::npos) end = op_.data.size();
    std::string line = op_.data.substr(pos, end - pos);
    if (line.rfind("umask=", 0) == 0) s_.umask_ = std::strtoul(line.c_str() + 6, nullptr, 8);
    pos = end + 1;
  }
}

Status OpResolver::Open(bool* ignored) {
  auto rel = Rel(op_.path);
  if (!rel) {
    *ignored = true;
    return Status::Ok();
  }
  const uint32_t f = op_.oflags;
  if ((f & __O_TMPFILE) == __O_TMPFILE) {
    auto dir = Find(*rel, true);
    if (!dir || s_.Find(*dir)->type != FileType::kDirectory) {
      return Fail("O_TMPFILE in a directory the model does not have");
    }
    Effect e;
    e.kind = EffectKind::kCreate;
    e.ino = s_.AllocateId();
    e.type = FileType::kRegular;
    e.mode = CreateMode(op_.mode);
    bind_to_ = e.ino;
    Add(std::move(e));
    return Status::Ok();
  }
  if (op_.Has(trace::kFlagCreated)) {
    // O_CREAT through a dangling symlink creates its target.
    auto target = Canonical(*rel, true);
    if (!target) return Fail("creates a file outside the crash domain through a symlink");
    if (s_.Lookup(*target)) return Fail("created " + *rel + " but the model has it already");
    Status st = Create(FileType::kRegular, CreateMode(op_.mode), "", *target);
    if (st.ok()) bind_to_ = effects_.back().ino;
    return st;
  }
  auto id = Find(*rel, true);
  if (!id) return Fail("the model has no " + *rel);
  const Inode* n = s_.Find(*id);
  if ((f & O_DIRECTORY) != 0 && n->type != FileType::kDirectory) {
    return Fail(*rel + " is not a directory");
  }
  if ((f & O_TRUNC) != 0 && (f & O_ACCMODE) != O_RDONLY && n->type == FileType::kRegular &&
      n->size() > 0) {
    Effect e;
    e.kind = EffectKind::kTruncate;
    e.ino = *id;
    e.offset = 0;
    Add(std::move(e));
  }
  bind_to_ = *id;
  return Status::Ok();
}

Status OpResolver::PathOrFd(InodeId* id, bool* ignored) {
  if (op_.fd >= 0 || op_.path.empty()) return FdInode(id, ignored);
  auto rel = Rel(op_.path);
  if (!rel) {
    *ignored = true;
    return Status::Ok();
  }
  auto found = Find(*rel, true);
  if (!found) return Fail("the model has no " + *rel);
  *id = *found;
  return Status::Ok();
}

Status OpResolver::Create(FileType type, uint32_t mode, std::string data,
                          std::optional<std::string> at) {
  auto rel = at ? at : Rel(op_.path);
  if (!rel) return Status::Ok();  // only kOpen reaches here outside-checked; others below
  InodeId dir = kNoInode;
  std::string name;
  Status st = Parent(*rel, &dir, &name);
  if (!st.ok()) return st;
  if (s_.Find(dir)->entries.count(name) != 0) return Fail("the model has " + *rel + " already");
  Effect e;
  e.kind = EffectKind::kCreate;
  e.ino = s_.AllocateId();
  e.dir = dir;
  e.name = name;
  e.type = type;
  e.mode = mode;
  e.data = std::move(data);
  Add(std::move(e));
  return Status::Ok();
}

Status OpResolver::Rename() {
  InodeId sd = kNoInode, dd = kNoInode;
  std::string sn, dn;
  Status st = Parent(*Rel(op_.path), &sd, &sn);
  if (!st.ok()) return st;
  st = Parent(*Rel(op_.path2), &dd, &dn);
  if (!st.ok()) return st;
  const auto& src_entries = s_.Find(sd)->entries;
  auto src = src_entries.find(sn);
  if (src == src_entries.end()) return Fail("the model has no " + *Rel(op_.path));
  const auto& dst_entries = s_.Find(dd)->entries;
  auto dst = dst_entries.find(dn);
  InodeId other = dst == dst_entries.end() ? kNoInode : dst->second;
  constexpr uint32_t kNoReplace = 1, kExchange = 2;
  if ((op_.oflags & ~(kNoReplace | kExchange)) != 0) return Fail("rename flags not modelled");
  Effect e;
  e.ino = src->second;
  e.dir = sd;
  e.name = sn;
  e.dir2 = dd;
  e.name2 = dn;
  e.other = other;
  if ((op_.oflags & kExchange) != 0) {
    if (other == kNoInode) return Fail("RENAME_EXCHANGE with a missing target");
    e.kind = EffectKind::kExchange;
  } else {
    if (other == src->second) return Status::Ok();  // two links to one inode: no-op
    e.kind = EffectKind::kRename;
  }
  Add(std::move(e));
  return Status::Ok();
}

Status OpResolver::Link(bool* ignored) {
  InodeId source = kNoInode;
  if (op_.path.empty()) {  // linkat(fd, "", ..., AT_EMPTY_PATH)
    Status st = FdInode(&source, ignored);
    if (!st.ok() || *ignored) return st;
  } else {
    auto rel = Rel(op_.path);
    if (!rel) {
      *ignored = !Rel(op_.path2).has_value();
      return *ignored ? Status::Ok() : Fail("links into the crash domain from outside");
    }
    auto id = Find(*rel, false);
    if (!id) return Fail("the model has no " + *rel);
    source = *id;
  }
  auto to = Rel(op_.path2);
  if (!to) return Fail("links out of the crash domain");
  InodeId dir = kNoInode;
  std::string name;
  Status st = Parent(*to, &dir, &name);
  if (!st.ok()) return st;
  if (s_.Find(dir)->entries.count(name) != 0) return Fail("the model has " + *to + " already");
  Effect e;
  e.kind = EffectKind::kLink;
  e.dir = dir;
  e.name = name;
  e.ino = source;
  Add(std::move(e));
  return Status::Ok();
}

Status OpResolver::Fallocate(InodeId id) {
  const Inode* n = s_.Find(id);
  if (n->type != FileType::kRegular) return Fail("fallocate of a non-regular file");
  const uint32_t m = op_.oflags;
  const uint64_t off = static_cast<uint64_t>(op_.offset), end = off + op_.length;
  const bool keep_size = (m & FALLOC_FL_KEEP_SIZE) != 0;
  if ((m & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0) {
    return Fail("fallocate mode not modelled");
  }
  if ((m & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0) {
    uint64_t zero_end = std::min<uint64_t>(end, n->size());
    if (zero_end > off) {
      if (zero_end - off > (64u << 20)) return Fail("zeroes more than 64 MiB");
      Effect e;
      e.kind = EffectKind::kWrite;
      e.ino = id;
      e.offset = off;
      e.data.assign(zero_end - off, '\0');
      e.extents = true;
      Add(std::move(e));
    }
  }
  if (!keep_size && end > n->size()) {
    Effect e;
    e.kind = EffectKind::kTruncate;
    e.ino = id;
    e.offset = end;
    Add(std::move(e));
  }
  return Status::Ok();
}

// A write through a descriptor opened with O_SYNC/O_DSYNC, or a pwritev2
// with RWF_SYNC/RWF_DSYNC, returns only once its range is synced
// (generic_write_sync -> vfs_fsync_range over the bytes written). Bytes
// stored through a mapping are not a write(2): the flags do not apply.
void OpResolver::AddWriteSync(InodeId id, uint64_t offset, uint64_t n) {
  if (op_.Has(trace::kFlagMapped)) return;
  constexpr uint32_t kRwfDsync = 0x2, kRwfSync = 0x4;  // linux/fs.h
  const uint32_t rwf = op_.sysno == SYS_pwritev2 ? op_.mode : 0;
  const bool sync = (op_.oflags & O_SYNC) == O_SYNC || (rwf & kRwfSync) != 0;
  const bool dsync = sync || (op_.oflags & O_DSYNC) != 0 || (rwf & kRwfDsync) != 0;
  if (!dsync) return;
  Effect e;
  e.kind = sync ? EffectKind::kFsyncRange : EffectKind::kFdatasyncRange;
  e.ino = id;
  e.offset = offset;
  e.length = n;
  Add(std::move(e));
}

// msync(MS_SYNC) is vfs_fsync_range(file, start, end, datasync=1) over the
// mapped range (mm/msync.c); MS_ASYNC starts nothing since Linux 2.6.19 and
// MS_INVALIDATE only drops caches: neither makes anything durable.
Status OpResolver::Msync(bool* ignored) {
  if ((op_.oflags & MS_SYNC) == 0) return Status::Ok();
  InodeId id = kNoInode;
  Status st = FdInode(&id, ignored);
  if (!st.ok() || *ignored) return st;
  Effect e;
  e.kind = EffectKind::kFdatasyncRange;
  e.ino = id;
  e.offset = static_cast<uint64_t>(op_.offset);
  e.length = op_.length;
  Add(std::move(e));
  return Status::Ok();
}

void FsState::Bind(uint64_t dev, uint64_t ino, InodeId id) {
  if (dev == 0 && ino == 0) return;  // the recorder did not know the file
  auto [it, inserted] = bindings_.try_emplace({dev, ino}, id);
  if (!inserted) {
    InodeId old = it->second;
    if (old == id) return;
    it->second = id;
    if (--bound_[old] == 0) bound_.erase(old);
    DropIfUnreferenced(old);
  }
  ++bound_[id];
}

Status FsState::Apply(const Op& op, std::vector<Effect>* effects) {
  OpResolver r(this, op);
  bool ignored = false;
  Status st = r.Resolve(&ignored);
  if (!st.ok() || ignored) return st;
  for (const Effect& e : r.effects()) Replay(e);
  if (r.bind_to() != kNoInode) Bind(op.dev, op.ino, r.bind_to());
  if (effects != nullptr) {
    for (Effect& e : r.effects()) effects->push_back(std::move(e));
  }
  return Status::Ok();
}

}  // namespace aftershock
