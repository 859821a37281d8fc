// Builds plausible traces in memory, as the injector would record them, for
// tests and benchmarks: a tiny fake kernel that hands out fds and dev/ino,
// tracks sizes and offsets, and records one Op per call with the next seq.
// Header-only; not used by the model itself.
#pragma once

#include <errno.h>
#include <fcntl.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model/fs_state.h"
#include "model/trace.h"

namespace aftershock {

class TraceBuilder {
 public:
  static constexpr uint64_t kDev = 42;

  // Starts with a kMeta record (seq 1) naming `root`. Files of `initial`
  // (the state before the trace) are known to the fake kernel.
  explicit TraceBuilder(std::string root = "/r", const FsState* initial = nullptr)
      : root_(std::move(root)) {
    if (initial != nullptr) {
      initial->Walk([&](const std::string& path, InodeId id, const Inode& n, const std::string&) {
        auto [it, fresh] = ino_of_inode_.try_emplace(id, next_ino_);
        if (fresh) {
          ++next_ino_;
          size_[it->second] = n.size();
        }
        ino_[path] = it->second;
      });
    }
    Op m;
    m.kind = OpKind::kMeta;
    m.path = root_;
    m.data = "umask=0";
    Record(std::move(m));
  }

  std::vector<Op>& ops() { return ops_; }
  uint64_t last_seq() const { return seq_; }
  void SetPid(int32_t pid) { pid_ = pid; }

  // open(O_CREAT|O_EXCL); returns the fd.
  int Create(const std::string& rel, uint32_t mode = 0600, uint32_t flags = O_WRONLY) {
    uint64_t ino = next_ino_++;
    ino_[rel] = ino;
    size_[ino] = 0;
    return OpenOp(rel, flags | O_CREAT | O_EXCL, mode, ino, trace::kFlagCreated);
  }
  // open of an existing file or directory (O_TRUNC truncates).
  int Open(const std::string& rel, uint32_t flags = O_RDWR) {
    uint64_t ino = ino_.at(rel);
    if ((flags & O_TRUNC) != 0) size_[ino] = 0;
    return OpenOp(rel, flags, 0, ino, 0);
  }
  int OpenDir(const std::string& rel) {
    uint64_t ino = DirIno(rel);
    return OpenOp(rel, O_RDONLY | O_DIRECTORY, 0, ino, trace::kFlagDirectory);
  }

  // write at the fd's offset (at the end for O_APPEND fds); `written` < size
  // records a short write.
  uint64_t Write(int fd, const std::string& data, int64_t written = -1) {
    Fd& f = fds_.at(fd);
    uint64_t off = f.append ? size_[f.ino] : f.offset;
    uint64_t seq = Pwrite(fd, off, data, written);
    f.offset = off + static_cast<uint64_t>(ops_.back().result);
    return seq;
  }
  uint64_t Pwrite(int fd, uint64_t offset, const std::string& data, int64_t written = -1) {
    Op op = FdOp(OpKind::kWrite, fd);
    op.offset = static_cast<int64_t>(offset);
    op.length = data.size();
    op.data = data;
    op.result = written < 0 ? static_cast<int64_t>(data.size()) : written;
    if (written >= 0) op.flags |= trace::kFlagShort | trace::kFlagInjected;
    uint64_t& size = size_[op.ino];
    size = std::max<uint64_t>(size, offset + static_cast<uint64_t>(op.result));
    return Record(std::move(op));
  }
  // fsync; `err` != 0 records a failed (injected) call.
  uint64_t Fsync(int fd, int err = 0) { return SyncOp(OpKind::kFsync, fd, err); }
  uint64_t Fdatasync(int fd, int err = 0) { return SyncOp(OpKind::kFdatasync, fd, err); }
  uint64_t Fchmod(int fd, uint32_t mode) {
    Op op = FdOp(OpKind::kChmod, fd);
    op.mode = mode;
    return Record(std::move(op));
  }
  uint64_t Ftruncate(int fd, uint64_t length) {
    Op op = FdOp(OpKind::kTruncate, fd);
    op.length = length;
    size_[op.ino] = length;
    return Record(std::move(op));
  }
  uint64_t Close(int fd) {
    Op op = FdOp(OpKind::kClose, fd);
    fds_.erase(fd);
    return Record(std::move(op));
  }
  uint64_t Rename(const std::string& from, const std::string& to) {
    uint64_t ino = ino_.at(from);
    MovePrefix(from, to);
    ino_[to] = ino;
    return PathOp(OpKind::kRename, from, to);
  }
  uint64_t Link(const std::string& from, const std::string& to) {
    ino_[to] = ino_.at(from);
    return PathOp(OpKind::kLink, from, to);
  }
  uint64_t Unlink(const std::string& rel) {
    ino_.erase(rel);
    return PathOp(OpKind::kUnlink, rel, "");
  }
  uint64_t Mkdir(const std::string& rel, uint32_t mode = 0755) {
    ino_[rel] = next_ino_++;
    Op op = PathOpRaw(OpKind::kMkdir, rel, "");
    op.mode = mode;
    return Record(std::move(op));
  }
  uint64_t Rmdir(const std::string& rel) {
    ino_.erase(rel);
    return PathOp(OpKind::kRmdir, rel, "");
  }
  uint64_t Symlink(const std::string& target, const std::string& rel) {
    ino_[rel] = next_ino_++;
    Op op = PathOpRaw(OpKind::kSymlink, rel, "");
    op.data = target;
    return Record(std::move(op));
  }
  uint64_t Sync() {
    Op op;
    op.kind = OpKind::kSync;
    return Record(std::move(op));
  }
  uint64_t Mark(const std::string& label, const std::string& data) {
    Op op;
    op.kind = OpKind::kMark;
    op.path = label;
    op.data = data;
    return Record(std::move(op));
  }

 private:
  struct Fd {
    uint64_t ino;
    std::string path;
    uint64_t offset = 0;
    bool append = false;
  };

  std::string Abs(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  uint64_t DirIno(const std::string& rel) {
    if (rel.empty()) return 1;  // the root's fake inode number
    return ino_.at(rel);
  }

  uint64_t Record(Op op) {
    op.seq = ++seq_;
    op.pid = pid_;
    op.tid = pid_;
    ops_.push_back(std::move(op));
    return seq_;
  }
  int OpenOp(const std::string& rel, uint32_t flags, uint32_t mode, uint64_t ino, uint16_t fl) {
    int fd = next_fd_++;
    fds_[fd] = Fd{ino, Abs(rel), 0, (flags & O_APPEND) != 0};
    Op op;
    op.kind = OpKind::kOpen;
    op.path = Abs(rel);
    op.oflags = flags;
    op.mode = mode;
    op.flags = fl;
    op.result = fd;
    op.dev = kDev;
    op.ino = ino;
    Record(std::move(op));
    return fd;
  }
  Op FdOp(OpKind kind, int fd) const {
    const Fd& f = fds_.at(fd);
    Op op;
    op.kind = kind;
    op.fd = fd;
    op.path = f.path;
    op.dev = kDev;
    op.ino = f.ino;
    return op;
  }
  uint64_t SyncOp(OpKind kind, int fd, int err) {
    Op op = FdOp(kind, fd);
    if (err != 0) {
      op.result = -1;
      op.err = err;
      op.flags |= trace::kFlagInjected;
    }
    return Record(std::move(op));
  }
  Op PathOpRaw(OpKind kind, const std::string& a, const std::string& b) const {
    Op op;
    op.kind = kind;
    op.path = Abs(a);
    if (!b.empty()) op.path2 = Abs(b);
    return op;
  }
  uint64_t PathOp(OpKind kind, const std::string& a, const std::string& b) {
    return Record(PathOpRaw(kind, a, b));
  }
  // A renamed directory carries its children's names along.
  void MovePrefix(const std::string& from, const std::string& to) {
    std::vector<std::pair<std::string, uint64_t>> moved;
    for (auto it = ino_.begin(); it != ino_.end();) {
      if (it->first.size() > from.size() && it->first.compare(0, from.size(), from) == 0 &&
          it->first[from.size()] == '/') {
        moved.emplace_back(to + it->first.substr(from.size()), it->second);
        it = ino_.erase(it);
      } else {
        ++it;
      }
    }
    ino_.erase(from);
    for (auto& [p, i] : moved) ino_[p] = i;
  }

  std::string root_;
  int32_t pid_ = 100;
  uint64_t seq_ = 0;
  int next_fd_ = 3;
  uint64_t next_ino_ = 100;
  std::vector<Op> ops_;
  std::map<std::string, uint64_t> ino_;       // path -> fake inode number
  std::map<InodeId, uint64_t> ino_of_inode_;  // initial state's inodes
  std::map<uint64_t, uint64_t> size_;
  std::map<int, Fd> fds_;
};

}  // namespace aftershock
