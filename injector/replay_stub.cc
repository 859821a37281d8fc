#include "injector/replay_stub.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace aftershock::replay_stub {
namespace {

bool Rel(const State& s, const std::string& abs, std::string* rel) {
  if (abs == s.root) {
    *rel = "";
    return true;
  }
  if (abs.size() > s.root.size() && abs.compare(0, s.root.size(), s.root) == 0 &&
      abs[s.root.size()] == '/') {
    *rel = abs.substr(s.root.size() + 1);
    return true;
  }
  return false;
}

bool CaptureDir(State* s, const std::string& abs, const std::string& rel, std::string* error) {
  DIR* d = opendir(abs.c_str());
  if (d == nullptr) {
    *error = abs + ": cannot open";
    return false;
  }
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string a = abs + "/" + name;
    std::string r = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (lstat(a.c_str(), &st) != 0) continue;
    auto key = std::make_pair(uint64_t(st.st_dev), uint64_t(st.st_ino));
    auto it = s->by_ino.find(key);
    if (it != s->by_ino.end() && !S_ISDIR(st.st_mode)) {
      s->nodes[r] = it->second;
      continue;
    }
    auto n = std::make_shared<Node>();
    n->mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      n->type = Node::kDir;
    } else if (S_ISREG(st.st_mode)) {
      std::ifstream in(a, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      n->data = ss.str();
    } else if (S_ISLNK(st.st_mode)) {
      n->type = Node::kSymlink;
      char buf[4096];
      ssize_t len = readlink(a.c_str(), buf, sizeof buf);
      n->data.assign(buf, len > 0 ? size_t(len) : 0);
    } else {
      n->type = Node::kOther;
    }
    s->nodes[r] = n;
    s->by_ino[key] = n;
    if (n->type == Node::kDir && !CaptureDir(s, a, r, error)) {
      closedir(d);
      return false;
    }
  }
  closedir(d);
  return true;
}

std::shared_ptr<Node> ByFd(State* s, const Op& op) {
  auto it = s->by_ino.find({op.dev, op.ino});
  return it == s->by_ino.end() ? nullptr : it->second;
}

std::shared_ptr<Node> Target(State* s, const Op& op) {
  std::string rel;
  if (op.fd >= 0 && op.ino != 0) return ByFd(s, op);
  if (!Rel(*s, op.path, &rel)) return nullptr;
  auto it = s->nodes.find(rel);
  return it == s->nodes.end() ? nullptr : it->second;
}

}  // namespace

std::optional<State> Capture(const std::string& dir, std::string* error) {
  State s;
  char real[4096];
  s.root = realpath(dir.c_str(), real) ? real : dir;
  auto root = std::make_shared<Node>();
  root->type = Node::kDir;
  struct stat st;
  if (stat(s.root.c_str(), &st) == 0) root->mode = st.st_mode & 07777;
  s.nodes[""] = root;
  if (!CaptureDir(&s, s.root, "", error)) return std::nullopt;
  return s;
}

std::string Apply(State* s, const Op& op) {
  if (op.Failed() || op.Has(trace::kFlagNotPerformed)) return "";
  std::string rel, rel2;
  bool in = Rel(*s, op.path, &rel);
  using K = OpKind;
  switch (op.kind) {
    case K::kOpen: {
      if (!in) return "";
      if ((op.oflags & O_TMPFILE) == O_TMPFILE) {  // unnamed until linked
        auto n = std::make_shared<Node>();
        n->mode = op.mode & 07777;
        s->by_ino[{op.dev, op.ino}] = n;
        return "";
      }
      auto& n = s->nodes[rel];
      if (!n) {
        n = std::make_shared<Node>();
        n->mode = op.mode & 07777;
      }
      if (op.oflags & O_TRUNC) n->data.clear();
      s->by_ino[{op.dev, op.ino}] = n;
      return "";
    }
    case K::kWrite: {
      auto n = ByFd(s, op);
      if (!n) return in ? "write to a file never opened: " + op.path : "";
      size_t off = static_cast<size_t>(op.offset);
      if (n->data.size() < off + op.data.size()) n->data.resize(off + op.data.size(), '\0');
      n->data.replace(off, op.data.size(), op.data);
      return "";
    }
    case K::kTruncate: {
      auto n = Target(s, op);
      if (n) n->data.resize(op.length, '\0');
      return "";
    }
    case K::kFallocate: {
      auto n = ByFd(s, op);
      if (n && op.oflags == 0 && n->data.size() < op.offset + op.length) {
        n->data.resize(op.offset + op.length, '\0');
      }
      return "";
    }
    case K::kChmod: {
      auto n = Target(s, op);
      if (n) n->mode = op.mode & 07777;
      return "";
    }
    case K::kMkdir:
    case K::kSymlink:
    case K::kMknod: {
      if (!in) return "";
      auto n = std::make_shared<Node>();
      n->type = op.kind == K::kMkdir            ? Node::kDir
                : op.kind == K::kSymlink        ? Node::kSymlink
                : (op.mode & S_IFMT) == S_IFIFO ? Node::kOther
                                                : Node::kFile;
      n->mode = op.kind == K::kSymlink ? 0777 : op.mode & 07777;
      n->data = op.kind == K::kSymlink ? op.data : "";
      s->nodes[rel] = n;
      return "";
    }
    case K::kUnlink:
    case K::kRmdir:
      if (in) s->nodes.erase(rel);
      return "";
    case K::kLink: {
      if (!Rel(*s, op.path2, &rel2)) return "";
      auto n = op.ino != 0 && op.fd >= 0 ? ByFd(s, op) : Target(s, op);
      if (!n) return "link of an unknown file: " + op.path;
      s->nodes[rel2] = n;
      return "";
    }
    case K::kRename: {
      bool in2 = Rel(*s, op.path2, &rel2);
      if (!in && !in2) return "";
      if (!in) return "rename into the root from outside: " + op.path2;
      auto it = s->nodes.find(rel);
      if (it == s->nodes.end()) return "rename of an unknown path: " + op.path;
      auto node = it->second;
      std::map<std::string, std::shared_ptr<Node>> moved;
      for (auto i = s->nodes.begin(); i != s->nodes.end();) {
        if (i->first.compare(0, rel.size() + 1, rel + "/") == 0) {
          moved[i->first.substr(rel.size())] = i->second;
          i = s->nodes.erase(i);
        } else {
          ++i;
        }
      }
      s->nodes.erase(rel);
      if (!in2) return "";
      if (op.oflags & 2 /* RENAME_EXCHANGE */) {
        if (!moved.empty()) return "RENAME_EXCHANGE of directories is not replayed by the stub";
        auto other = s->nodes.find(rel2);
        if (other == s->nodes.end()) return "exchange with an unknown path: " + op.path2;
        s->nodes[rel] = other->second;
      }
      s->nodes[rel2] = node;
      for (auto& [tail, n] : moved) s->nodes[rel2 + tail] = n;
      return "";
    }
    default:
      return "";
  }
}

std::optional<std::string> Diff(const State& want, const State& got) {
  for (const auto& [path, n] : got.nodes) {
    auto it = want.nodes.find(path);
    std::string name = path.empty() ? "." : path;
    if (it == want.nodes.end()) return name + ": on disk, not in the replayed trace";
    const Node& w = *it->second;
    if (w.type != n->type) return name + ": file type differs";
    if (path.empty()) continue;
    if (w.mode != n->mode)
      return name + ": mode differs (replayed 0" + std::to_string(w.mode) + " vs on disk 0" +
             std::to_string(n->mode) + ", decimal)";
    if (w.type != Node::kDir && w.data != n->data) {
      return name + ": contents differ (replayed " + std::to_string(w.data.size()) + " bytes vs " +
             std::to_string(n->data.size()) + " on disk)";
    }
  }
  for (const auto& [path, n] : want.nodes) {
    if (!got.nodes.count(path)) return path + ": in the replayed trace, not on disk";
  }
  return std::nullopt;
}

}  // namespace aftershock::replay_stub
