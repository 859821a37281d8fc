// OpResolver: where an op's paths and fds lead in the model.
#include "model/op_resolver.h"

namespace aftershock {

std::string DescribeOp(const Op& op) {
  std::string s = "op " + std::to_string(op.seq) + " " + trace::KindName(op.kind);
  if (!op.path.empty()) s += " " + op.path;
  if (!op.path2.empty()) s += " -> " + op.path2;
  if (op.fd >= 0) s += " (fd " + std::to_string(op.fd) + ")";
  return s;
}

std::optional<std::string> OpResolver::Rel(const std::string& abs) const {
  const std::string& root = s_.root_;
  if (root == "/") return abs.empty() ? std::string() : abs.substr(1);
  if (abs == root) return std::string();
  if (abs.size() > root.size() && abs.compare(0, root.size(), root) == 0 &&
      abs[root.size()] == '/') {
    return abs.substr(root.size() + 1);
  }
  return std::nullopt;
}

std::optional<std::string> OpResolver::Canonical(const std::string& rel, bool follow_last) const {
  // Recorded paths are resolved lexically, not through symlinks: follow them
  // here, in every directory component (and the last one when asked).
  std::vector<std::string> todo;  // components still to walk, last first
  auto push_front = [&todo](const std::string& path) {
    std::vector<std::string> parts;
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t next = path.find('/', pos);
      if (next == std::string::npos) next = path.size();
      if (next > pos) parts.push_back(path.substr(pos, next - pos));
      pos = next + 1;
    }
    todo.insert(todo.end(), parts.rbegin(), parts.rend());
  };
  push_front(rel);
  std::vector<std::string> done;
  std::vector<InodeId> dirs = {s_.root_ino_};  // dirs[i]: inode of done[0..i)
  int hops = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (done.empty()) return std::nullopt;  // leaves the root
      done.pop_back();
      dirs.pop_back();
      continue;
    }
    const Inode* d = dirs.back() == kNoInode ? nullptr : s_.Find(dirs.back());
    InodeId id = kNoInode;
    if (d != nullptr && d->type == FileType::kDirectory) {
      auto it = d->entries.find(part);
      if (it != d->entries.end()) id = it->second;
    }
    const Inode* n = id == kNoInode ? nullptr : s_.Find(id);
    if (n != nullptr && n->type == FileType::kSymlink && (!todo.empty() || follow_last)) {
      if (++hops > 40) return std::nullopt;  // ELOOP
      const std::string& target = n->data;
      if (!target.empty() && target[0] == '/') {
        auto inside = Rel(target);
        if (!inside) return std::nullopt;
        done.clear();
        dirs.assign(1, s_.root_ino_);
        push_front(*inside);
      } else {
        push_front(target);
      }
      continue;
    }
    done.push_back(part);
    dirs.push_back(id);
  }
  std::string out;
  for (const auto& p : done) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::optional<InodeId> OpResolver::Find(const std::string& rel, bool follow) const {
  auto canonical = Canonical(rel, follow);
  if (!canonical) return std::nullopt;
  return s_.Lookup(*canonical);
}

Status OpResolver::Parent(const std::string& given, InodeId* dir, std::string* name) const {
  auto canonical = Canonical(given, false);
  if (!canonical) return Fail("its path leaves the crash domain through a symlink");
  const std::string& rel = *canonical;
  if (rel.empty()) return Fail("acts on the root itself");
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  *name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  auto id = s_.Lookup(parent);
  if (!id) return Fail("parent directory /" + parent + " does not exist in the model");
  if (s_.Find(*id)->type != FileType::kDirectory) return Fail(parent + " is not a directory");
  *dir = *id;
  return Status::Ok();
}

Status OpResolver::FdInode(InodeId* id, bool* ignored) {
  auto it = s_.bindings_.find({op_.dev, op_.ino});
  if (it != s_.bindings_.end() && s_.Find(it->second) != nullptr) {
    *id = it->second;
    return Status::Ok();
  }
  if (!op_.path.empty() && !Rel(op_.path)) {
    *ignored = true;  // a file outside the crash domain (a log, /dev/null)
    return Status::Ok();
  }
  // An fd whose open was not recorded (a read-only open, an fd inherited):
  // the path it was opened with names the file, unless it was renamed since;
  // bind it now so that later ops on the same file find it.
  if (auto rel = Rel(op_.path); rel && !op_.path.empty()) {
    if (auto found = Find(*rel, true)) {
      *id = *found;
      bind_to_ = *found;
      return Status::Ok();
    }
  }
  return Fail("its file (dev " + std::to_string(op_.dev) + ", ino " + std::to_string(op_.ino) +
              ") was never opened in the model, and the model has no " + op_.path);
}

}  // namespace aftershock
