// Internal to the model: resolves one recorded op against an FsState into
// effects (fs_apply.cc: the ops; op_paths.cc: paths and fds).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/fs_state.h"

namespace aftershock {

// Which op an error is about: "op 41 rename /r/a -> /r/b".
std::string DescribeOp(const Op& op);

class OpResolver {
 public:
  OpResolver(FsState* s, const Op& op) : s_(*s), op_(op) {}

  // Fills effects_, or returns an error; *ignored when the op is outside the
  // crash domain.
  Status Resolve(bool* ignored);
  std::vector<Effect>& effects() { return effects_; }
  // Binding of (op.dev, op.ino) to make after the effects are replayed
  // (an open, or an fd op whose open the trace lacks).
  InodeId bind_to() const { return bind_to_; }

 private:
  Status Fail(const std::string& why) const { return Status::Error(DescribeOp(op_) + ": " + why); }
  // Relative path of an absolute one; nullopt when outside the root.
  std::optional<std::string> Rel(const std::string& abs) const;
  // The inode at rel, following a final symlink when `follow`.
  std::optional<InodeId> Find(const std::string& rel, bool follow) const;
  // rel with the symlinks in it followed (the last one when follow_last);
  // nullopt when that leaves the root or loops.
  std::optional<std::string> Canonical(const std::string& rel, bool follow_last) const;
  // Parent directory inode and last name of rel.
  Status Parent(const std::string& rel, InodeId* dir, std::string* name) const;
  // The inode an fd op acts on.
  Status FdInode(InodeId* id, bool* ignored);
  uint32_t CreateMode(uint32_t mode) const { return (mode & 07777) & ~s_.umask_; }

  Status Open(bool* ignored);
  Status PathOrFd(InodeId* id, bool* ignored);
  Status Rename();
  Status Rename(bool* ignored);  // the boundary checks, then Rename()
  Status Write(bool* ignored);
  Status Truncate(bool* ignored);
  Status Unlink(bool* ignored);  // unlink and rmdir
  Status Mknod();
  Status Chmod(bool* ignored);
  Status Fsync(bool* ignored);   // fsync and fdatasync
  void Meta();
  Status Link(bool* ignored);
  // Creates `at` (default: the op's path).
  Status Create(FileType type, uint32_t mode, std::string data,
                std::optional<std::string> at = std::nullopt);
  Status Fallocate(InodeId id);
  Status Msync(bool* ignored);
  // The ranged sync an O_SYNC/O_DSYNC (RWF_SYNC/RWF_DSYNC) write ends with.
  void AddWriteSync(InodeId id, uint64_t offset, uint64_t n);
  void Add(Effect e) { effects_.push_back(std::move(e)); }

  FsState& s_;
  const Op& op_;
  std::vector<Effect> effects_;
  InodeId bind_to_ = kNoInode;
};

}  // namespace aftershock
