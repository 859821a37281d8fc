// The file-system state of a crash domain: directories, entries, inodes (hard
// links share one), bytes, modes, symlinks.
//
// Paths are relative to the crash domain's root ("" is the root itself,
// "queue/active/A" a file). Recorded ops carry absolute paths; SetRoot (or a
// kMeta record) says which prefix to strip. Ops outside the root change
// nothing.
//
// After construction (the Add* builders, used by Capture and tests), Apply is
// the only way a state changes. Copies are cheap: inodes are shared
// copy-on-write, so a copy costs one pointer per inode. A state is not
// thread-safe; distinct copies may be used from distinct threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/effect.h"
#include "model/status.h"
#include "model/trace.h"

namespace aftershock {

struct Inode {
  FileType type = FileType::kRegular;
  uint32_t mode = 0644;  // permission bits (07777); +x marks a complete Postfix queue file
  uint32_t nlink = 0;    // entries naming this inode, in any directory
  std::string data;      // regular file: its bytes (size = data.size()); symlink: target
  std::map<std::string, InodeId> entries;  // directory: name -> inode

  uint64_t size() const { return data.size(); }
};

// 128-bit content hash (XXH3). Equal states have equal hashes.
struct StateHash {
  uint64_t high = 0;
  uint64_t low = 0;
  bool operator==(const StateHash&) const = default;
  auto operator<=>(const StateHash&) const = default;
};

class FsState {
 public:
  // An empty root directory, mode 0755.
  FsState();

  // Absolute path of the crash domain's root; ops under it are modelled.
  void SetRoot(std::string abs_root);
  const std::string& root() const { return root_; }

  // Applies one recorded op. On success appends to *effects (when given) what
  // it did, in terms of inodes. Ops that fail (result < 0), ops outside the
  // root and events (marks, fork, ...) change nothing. An op that contradicts
  // the state (a path the model does not have, a created file that exists, an
  // fd whose file the model never saw opened) is an error naming the op, and
  // leaves the state unchanged.
  Status Apply(const Op& op, std::vector<Effect>* effects = nullptr);

  // Replays one effect produced by Apply on some state (possibly on another
  // state derived from the same initial state, with other effects dropped).
  // Lenient: an effect on an inode that does not exist here (its creation
  // was dropped) has no visible effect. `torn`, for kWrite only, persists
  // only some sectors of the write (see TornWrite).
  void Replay(const Effect& e, const TornWrite* torn = nullptr);

  // Replays only the allocation part of a kCreate: the inode without its
  // entry. A crash state that drops a create still has the inode, which a
  // kept rename or link may name (fsync of a file persists its inode even
  // when its first name never reached the disk).
  void ReplayAllocation(const Effect& e);
  // From now on, inodes that lose their last name stay (invisible): in a
  // replay with dropped ops a later kept rename or link may name them again.
  void KeepOrphans() { keep_orphans_ = true; }

  // Builders (Capture, tests). REQUIRES: the parent exists and `rel` does not.
  Status AddDirectory(std::string_view rel, uint32_t mode);
  Status AddFile(std::string_view rel, std::string data, uint32_t mode);
  Status AddSymlink(std::string_view rel, std::string target);
  Status AddFifo(std::string_view rel, uint32_t mode);
  Status AddHardLink(std::string_view existing_rel, std::string_view new_rel);
  // Sets the root directory's permission bits.
  void SetRootMode(uint32_t mode);

  // Queries. Paths are not followed through symlinks.
  InodeId root_inode() const { return root_ino_; }
  const Inode* Find(InodeId id) const;
  std::optional<InodeId> Lookup(std::string_view rel) const;
  const Inode* Stat(std::string_view rel) const;

  // Visits every entry reachable from the root, depth first, names in byte
  // order (parents before children). `first_path` is non-empty when the inode
  // was already visited under that path (a hard link).
  using Visitor = std::function<void(const std::string& path, InodeId id, const Inode& inode,
                                     const std::string& first_path)>;
  void Walk(const Visitor& visit) const;

  // Content hash over what a crash leaves visible: names, types, modes, bytes,
  // symlink targets, which names share an inode. Not: inode ids, the root
  // path, fd bindings, unreachable inodes.
  StateHash Hash128() const;
  uint64_t Hash() const { return Hash128().low; }

  // Equality of visible content (what Hash128 covers).
  bool operator==(const FsState& other) const;

  // The inode the file (dev, ino) was last bound to by an open or fd op;
  // nullopt when the model never saw it.
  std::optional<InodeId> BoundInode(uint64_t dev, uint64_t ino) const;

  // Number of inodes held (reachable or not), for tests and memory checks.
  size_t inode_count() const { return inodes_.size(); }

 private:
  friend class OpResolver;

  Inode* Mutable(InodeId id);  // copy-on-write
  InodeId NewInode(FileType type, uint32_t mode, std::string data);
  InodeId AllocateId() { return next_ino_++; }
  void AddEntry(InodeId dir, const std::string& name, InodeId id);
  void RemoveEntry(InodeId dir, const std::string& name);
  void DropIfUnreferenced(InodeId id);
  void Bind(uint64_t dev, uint64_t ino, InodeId id);
  Status AddNode(std::string_view rel, InodeId id);

  std::string root_;
  uint32_t umask_ = 022;
  bool keep_orphans_ = false;
  InodeId root_ino_ = 1;
  InodeId next_ino_ = 2;
  std::map<InodeId, std::shared_ptr<const Inode>> inodes_;
  // (st_dev, st_ino) of the file each open saw -> our inode; rebound at each
  // open because the kernel reuses inode numbers.
  std::map<std::pair<uint64_t, uint64_t>, InodeId> bindings_;
  std::map<InodeId, uint32_t> bound_;  // inode -> number of bindings naming it
};

// Where and how two states first differ: path "queue/active/A" (empty for
// the root), how "size 10 vs 12" or "only in the first".
struct StateDifference {
  std::string path;
  std::string how;
  std::string Text() const;  // "queue/active/A: size 10 vs 12"
};

// The first difference between two states; nullopt iff a == b.
std::optional<StateDifference> FirstDifference(const FsState& a, const FsState& b);

// FirstDifference(a, b)->Text(); nullopt iff a == b.
std::optional<std::string> Diff(const FsState& a, const FsState& b);

// Writes `state` into `dir`, which must exist and be empty: names, bytes,
// modes, symlinks, hard links, fifos. The root's mode is applied to `dir`.
Status Materialize(const FsState& state, const std::string& dir);

// Reads the tree under `dir` back into a state (its root path left unset).
// Sockets and device files are errors.
std::optional<FsState> Capture(const std::string& dir, Status* status);

}  // namespace aftershock
