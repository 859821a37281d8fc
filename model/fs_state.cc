#include "model/fs_state.h"

#include <cassert>

#include <algorithm>
#include <cstdio>
#include <set>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace aftershock {
namespace {

// Splits "a/b/c" into parent "a/b" and name "c"; "" has no parent.
std::pair<std::string_view, std::string_view> SplitParent(std::string_view rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

FsState::FsState() {
  auto root = std::make_shared<Inode>();
  root->type = FileType::kDirectory;
  root->mode = 0755;
  root->nlink = 1;
  inodes_.emplace(root_ino_, std::move(root));
}

void FsState::SetRoot(std::string abs_root) {
  while (abs_root.size() > 1 && abs_root.back() == '/') abs_root.pop_back();
  root_ = std::move(abs_root);
}

const Inode* FsState::Find(InodeId id) const {
  auto it = inodes_.find(id);
  return it == inodes_.end() ? nullptr : it->second.get();
}

Inode* FsState::Mutable(InodeId id) {
  auto it = inodes_.find(id);
  if (it == inodes_.end()) return nullptr;
  // Shared with another state: copy before writing (use_count is exact when
  // it reads 1, which is the only case where we skip the copy).
  if (it->second.use_count() > 1) it->second = std::make_shared<Inode>(*it->second);
  // Copy-on-write: what a caller may change is this state's alone.
  assert(it->second.use_count() == 1);
  return const_cast<Inode*>(it->second.get());
}

InodeId FsState::NewInode(FileType type, uint32_t mode, std::string data) {
  auto node = std::make_shared<Inode>();
  node->type = type;
  node->mode = mode & 07777;
  node->data = std::move(data);
  InodeId id = AllocateId();
  inodes_.emplace(id, std::move(node));
  return id;
}

void FsState::AddEntry(InodeId dir, const std::string& name, InodeId id) {
  Inode* d = Mutable(dir);
  auto it = d->entries.find(name);
  if (it != d->entries.end()) {
    if (it->second == id) return;
    InodeId old = it->second;
    it->second = id;
    if (Inode* o = Mutable(old); o != nullptr && o->nlink > 0) --o->nlink;
    DropIfUnreferenced(old);
  } else {
    d->entries.emplace(name, id);
  }
  if (Inode* n = Mutable(id)) ++n->nlink;
}

void FsState::RemoveEntry(InodeId dir, const std::string& name) {
  Inode* d = Mutable(dir);
  if (d == nullptr) return;
  auto it = d->entries.find(name);
  if (it == d->entries.end()) return;
  InodeId id = it->second;
  d->entries.erase(it);
  if (Inode* n = Mutable(id); n != nullptr && n->nlink > 0) --n->nlink;
  DropIfUnreferenced(id);
}

void FsState::DropIfUnreferenced(InodeId id) {
  if (id == root_ino_ || keep_orphans_) return;
  const Inode* n = Find(id);
  if (n == nullptr || n->nlink > 0) return;
  if (bound_.count(id) != 0) return;  // still open: writes through the fd go on
  inodes_.erase(id);
}

void FsState::Replay(const Effect& e, const TornWrite* torn) {
  auto is_dir = [this](InodeId id) {
    const Inode* n = Find(id);
    return n != nullptr && n->type == FileType::kDirectory;
  };
  switch (e.kind) {
    case EffectKind::kCreate: {
      if (Find(e.ino) != nullptr) return;
      auto node = std::make_shared<Inode>();
      node->type = e.type;
      node->mode = e.mode & 07777;
      node->data = e.data;
      inodes_.emplace(e.ino, std::move(node));
      if (next_ino_ <= e.ino) next_ino_ = e.ino + 1;
      if (e.dir != kNoInode && is_dir(e.dir)) AddEntry(e.dir, e.name, e.ino);
      return;
    }
    case EffectKind::kLink:
      if (Find(e.ino) != nullptr && is_dir(e.dir)) AddEntry(e.dir, e.name, e.ino);
      return;
    case EffectKind::kUnlink:
      if (is_dir(e.dir)) RemoveEntry(e.dir, e.name);
      return;
    case EffectKind::kRename: {
      if (Find(e.ino) == nullptr) return;
      // Hold a reference so the inode survives its last name while moving.
      if (Inode* n = Mutable(e.ino)) ++n->nlink;
      if (const Inode* d = Find(e.dir); d != nullptr && d->type == FileType::kDirectory) {
        auto it = d->entries.find(e.name);
        if (it != d->entries.end() && it->second == e.ino) RemoveEntry(e.dir, e.name);
      }
      if (is_dir(e.dir2)) AddEntry(e.dir2, e.name2, e.ino);
      if (Inode* n = Mutable(e.ino)) --n->nlink;
      DropIfUnreferenced(e.ino);
      return;
    }
    case EffectKind::kExchange: {
      const Inode* a = Find(e.dir);
      const Inode* b = Find(e.dir2);
      if (a == nullptr || b == nullptr) return;
      auto ia = a->entries.find(e.name);
      auto ib = b->entries.find(e.name2);
      if (ia == a->entries.end() || ib == b->entries.end()) return;
      if (ia->second != e.ino || ib->second != e.other) return;
      Mutable(e.dir)->entries[e.name] = e.other;
      Mutable(e.dir2)->entries[e.name2] = e.ino;
      return;
    }
    case EffectKind::kWrite: {
      const Inode* cur = Find(e.ino);
      if (cur == nullptr || cur->type != FileType::kRegular) return;
      Inode* n = Mutable(e.ino);
      const uint64_t old_size = n->data.size();
      const uint64_t end = e.offset + e.data.size();
      if (end > old_size) n->data.resize(end, '\0');
      if (torn == nullptr) {
        n->data.replace(e.offset, e.data.size(), e.data);
        return;
      }
      // A torn write: only the kept sectors carry the new bytes; the others
      // keep the old bytes, or zeros where the write extended the file.
      const uint64_t sb = torn->sector_bytes;
      const uint64_t first = e.offset / sb;
      for (uint32_t k : torn->kept) {
        uint64_t lo = std::max<uint64_t>((first + k) * sb, e.offset);
        uint64_t hi = std::min<uint64_t>((first + k + 1) * sb, end);
        if (lo >= hi) continue;
        n->data.replace(lo, hi - lo, e.data, lo - e.offset, hi - lo);
      }
      return;
    }
    case EffectKind::kTruncate: {
      const Inode* cur = Find(e.ino);
      if (cur == nullptr || cur->type != FileType::kRegular) return;
      Mutable(e.ino)->data.resize(e.offset, '\0');
      return;
    }
    case EffectKind::kChmod:
      if (Inode* n = Find(e.ino) ? Mutable(e.ino) : nullptr) n->mode = e.mode & 07777;
      return;
    case EffectKind::kFsync:
    case EffectKind::kFdatasync:
    case EffectKind::kSync:
    case EffectKind::kFailedSync:
    case EffectKind::kFsyncRange:
    case EffectKind::kFdatasyncRange:
      return;
  }
}

void FsState::ReplayAllocation(const Effect& e) {
  if (e.kind != EffectKind::kCreate) return;
  Effect anonymous = e;
  anonymous.dir = kNoInode;
  Replay(anonymous);
}

std::optional<InodeId> FsState::Lookup(std::string_view rel) const {
  InodeId cur = root_ino_;
  while (!rel.empty()) {
    size_t slash = rel.find('/');
    std::string_view part = rel.substr(0, slash);
    rel = slash == std::string_view::npos ? std::string_view() : rel.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    const Inode* d = Find(cur);
    if (d == nullptr || d->type != FileType::kDirectory) return std::nullopt;
    auto it = d->entries.find(std::string(part));
    if (it == d->entries.end()) return std::nullopt;
    cur = it->second;
  }
  return cur;
}

const Inode* FsState::Stat(std::string_view rel) const {
  auto id = Lookup(rel);
  return id ? Find(*id) : nullptr;
}

Status FsState::AddNode(std::string_view rel, InodeId id) {
  auto [parent, name] = SplitParent(rel);
  auto dir = Lookup(parent);
  const Inode* d = dir ? Find(*dir) : nullptr;
  if (name.empty() || d == nullptr || d->type != FileType::kDirectory) {
    inodes_.erase(id);
    return Status::Error(std::string(rel) + ": parent directory does not exist");
  }
  if (d->entries.count(std::string(name)) != 0) {
    inodes_.erase(id);
    return Status::Error(std::string(rel) + ": exists already");
  }
  AddEntry(*dir, std::string(name), id);
  return Status::Ok();
}

Status FsState::AddDirectory(std::string_view rel, uint32_t mode) {
  return AddNode(rel, NewInode(FileType::kDirectory, mode, ""));
}
Status FsState::AddFile(std::string_view rel, std::string data, uint32_t mode) {
  return AddNode(rel, NewInode(FileType::kRegular, mode, std::move(data)));
}
Status FsState::AddSymlink(std::string_view rel, std::string target) {
  return AddNode(rel, NewInode(FileType::kSymlink, 0777, std::move(target)));
}
Status FsState::AddFifo(std::string_view rel, uint32_t mode) {
  return AddNode(rel, NewInode(FileType::kFifo, mode, ""));
}
Status FsState::AddHardLink(std::string_view existing_rel, std::string_view new_rel) {
  auto id = Lookup(existing_rel);
  if (!id) return Status::Error(std::string(existing_rel) + ": does not exist");
  if (Find(*id)->type == FileType::kDirectory) {
    return Status::Error(std::string(existing_rel) + ": hard link to a directory");
  }
  auto [parent, name] = SplitParent(new_rel);
  auto dir = Lookup(parent);
  const Inode* d = dir ? Find(*dir) : nullptr;
  if (name.empty() || d == nullptr || d->type != FileType::kDirectory) {
    return Status::Error(std::string(new_rel) + ": parent directory does not exist");
  }
  if (d->entries.count(std::string(name)) != 0) {
    return Status::Error(std::string(new_rel) + ": exists already");
  }
  AddEntry(*dir, std::string(name), *id);
  return Status::Ok();
}

void FsState::SetRootMode(uint32_t mode) { Mutable(root_ino_)->mode = mode & 07777; }

void FsState::Walk(const Visitor& visit) const {
  std::map<InodeId, std::string> seen;  // non-directory inode -> first path
  std::set<InodeId> dirs_seen = {root_ino_};
  std::function<void(InodeId, const std::string&)> walk_dir = [&](InodeId dir,
                                                                  const std::string& path) {
    const Inode* d = Find(dir);
    for (const auto& [name, id] : d->entries) {
      const Inode* n = Find(id);
      if (n == nullptr) continue;
      std::string child = Join(path, name);
      if (n->type == FileType::kDirectory) {
        if (!dirs_seen.insert(id).second) continue;  // only reachable in odd replays
        visit(child, id, *n, "");
        walk_dir(id, child);
        continue;
      }
      auto [it, inserted] = seen.emplace(id, child);
      visit(child, id, *n, inserted ? std::string() : it->second);
    }
  };
  walk_dir(root_ino_, "");
}

StateHash FsState::Hash128() const {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  auto feed_u32 = [&](uint32_t v) { XXH3_128bits_update(&st, &v, sizeof v); };
  auto feed_str = [&](const std::string& s) {
    uint64_t n = s.size();
    XXH3_128bits_update(&st, &n, sizeof n);
    XXH3_128bits_update(&st, s.data(), s.size());
  };
  feed_u32(Find(root_ino_)->mode);
  Walk([&](const std::string& path, InodeId, const Inode& n, const std::string& first_path) {
    feed_str(path);
    if (!first_path.empty()) {
      feed_u32(0xffffffffu);  // a hard link: its content is that of first_path
      feed_str(first_path);
      return;
    }
    feed_u32(static_cast<uint32_t>(n.type));
    feed_u32(n.mode);
    if (n.type != FileType::kDirectory) feed_str(n.data);
  });
  XXH128_hash_t h = XXH3_128bits_digest(&st);
  return StateHash{h.high64, h.low64};
}

bool FsState::operator==(const FsState& other) const { return !Diff(*this, other).has_value(); }

namespace {

// Walk order: '/' sorts before every other byte, as a depth-first walk emits.
bool PathLess(const std::string& a, const std::string& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '/' ? 0 : static_cast<unsigned char>(a[i]);
    unsigned char y = b[i] == '/' ? 0 : static_cast<unsigned char>(b[i]);
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

struct Entry {
  std::string path;
  const Inode* inode;
  std::string first_path;
};

std::vector<Entry> Flatten(const FsState& s) {
  std::vector<Entry> out;
  s.Walk([&](const std::string& path, InodeId, const Inode& n, const std::string& first) {
    out.push_back({path, &n, first});
  });
  return out;
}

const char* TypeName(FileType t) {
  switch (t) {
    case FileType::kRegular:
      return "file";
    case FileType::kDirectory:
      return "directory";
    case FileType::kSymlink:
      return "symlink";
    case FileType::kFifo:
      return "fifo";
  }
  return "?";
}

std::string Octal(uint32_t m) {
  char b[16];
  std::snprintf(b, sizeof b, "0%o", m);
  return b;
}

// How two entries at the same path differ; nullopt iff they do not.
std::optional<std::string> DiffEntry(const Entry& a, const Entry& b) {
  if (a.first_path != b.first_path) {
    auto say = [](const Entry& e) {
      return e.first_path.empty() ? std::string("its own inode") : "a hard link to " + e.first_path;
    };
    return say(a) + " vs " + say(b);
  }
  if (!a.first_path.empty()) return std::nullopt;
  const Inode& x = *a.inode;
  const Inode& y = *b.inode;
  if (x.type != y.type) return std::string(TypeName(x.type)) + " vs " + TypeName(y.type);
  if (x.mode != y.mode) return "mode " + Octal(x.mode) + " vs " + Octal(y.mode);
  if (x.type == FileType::kSymlink && x.data != y.data) {
    return "symlink to " + x.data + " vs " + y.data;
  }
  if (x.type != FileType::kRegular) return std::nullopt;
  if (x.data.size() != y.data.size()) {
    return "size " + std::to_string(x.data.size()) + " vs " + std::to_string(y.data.size());
  }
  auto [i, j] = std::mismatch(x.data.begin(), x.data.end(), y.data.begin());
  if (i != x.data.end()) return "bytes differ from offset " + std::to_string(i - x.data.begin());
  return std::nullopt;
}

}  // namespace

std::string StateDifference::Text() const { return (path.empty() ? "(root)" : path) + ": " + how; }

std::optional<StateDifference> FirstDifference(const FsState& a, const FsState& b) {
  const Inode* ra = a.Find(a.root_inode());
  const Inode* rb = b.Find(b.root_inode());
  if (ra->mode != rb->mode) return StateDifference{"", "mode " + Octal(ra->mode) + " vs " + Octal(rb->mode)};
  std::vector<Entry> ea = Flatten(a);
  std::vector<Entry> eb = Flatten(b);
  size_t i = 0, j = 0;
  while (i < ea.size() || j < eb.size()) {
    if (j == eb.size() || (i < ea.size() && PathLess(ea[i].path, eb[j].path))) {
      return StateDifference{ea[i].path, "only in the first"};
    }
    if (i == ea.size() || PathLess(eb[j].path, ea[i].path)) {
      return StateDifference{eb[j].path, "only in the second"};
    }
    if (auto how = DiffEntry(ea[i], eb[j])) return StateDifference{ea[i].path, *how};
    ++i;
    ++j;
  }
  return std::nullopt;
}

std::optional<std::string> Diff(const FsState& a, const FsState& b) {
  std::optional<StateDifference> d = FirstDifference(a, b);
  if (!d) return std::nullopt;
  return d->Text();
}

std::optional<InodeId> FsState::BoundInode(uint64_t dev, uint64_t ino) const {
  auto it = bindings_.find({dev, ino});
  if (it == bindings_.end() || Find(it->second) == nullptr) return std::nullopt;
  return it->second;
}

}  // namespace aftershock
