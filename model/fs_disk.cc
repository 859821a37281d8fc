// Materialize and Capture: between an FsState and a real directory tree.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

#include "common/file_io.h"
#include "model/fs_state.h"

namespace aftershock {
namespace {

Status Errno(const std::string& what) { return Status::Error(what + ": " + std::strerror(errno)); }

bool ReadAll(int fd, std::string* out) {
  char buf[65536];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return false;
    if (r == 0) return true;
    out->append(buf, static_cast<size_t>(r));
  }
}

Status CheckEmptyDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Errno("materialize into " + dir);
  Status st;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      st = Status::Error("materialize into " + dir + ": not empty (has " + e->d_name + ")");
      break;
    }
  }
  ::closedir(d);
  return st;
}

}  // namespace

Status Materialize(const FsState& state, const std::string& dir) {
  Status st = CheckEmptyDir(dir);
  if (!st.ok()) return st;
  // Directory modes are set last, deepest first, so that a read-only
  // directory can still be filled.
  std::vector<std::pair<std::string, uint32_t>> dir_modes;
  state.Walk([&](const std::string& path, InodeId, const Inode& n, const std::string& first) {
    if (!st.ok()) return;
    const std::string full = dir + "/" + path;
    if (!first.empty()) {
      if (::link((dir + "/" + first).c_str(), full.c_str()) != 0) st = Errno("link " + full);
      return;
    }
    switch (n.type) {
      case FileType::kDirectory:
        if (::mkdir(full.c_str(), 0700) != 0) st = Errno("mkdir " + full);
        dir_modes.emplace_back(full, n.mode);
        return;
      case FileType::kRegular: {
        int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
          st = Errno("create " + full);
          return;
        }
        if (!WriteAll(fd, n.data)) st = Errno("write " + full);
        if (st.ok() && ::fchmod(fd, n.mode) != 0) st = Errno("chmod " + full);
        ::close(fd);
        return;
      }
      case FileType::kSymlink:
        if (::symlink(n.data.c_str(), full.c_str()) != 0) st = Errno("symlink " + full);
        return;
      case FileType::kFifo:
        if (::mkfifo(full.c_str(), 0600) != 0 || ::chmod(full.c_str(), n.mode) != 0) {
          st = Errno("mkfifo " + full);
        }
        return;
    }
  });
  if (!st.ok()) return st;
  for (auto it = dir_modes.rbegin(); it != dir_modes.rend(); ++it) {
    if (::chmod(it->first.c_str(), it->second) != 0) return Errno("chmod " + it->first);
  }
  if (::chmod(dir.c_str(), state.Find(state.root_inode())->mode) != 0) {
    return Errno("chmod " + dir);
  }
  return Status::Ok();
}

namespace {

class Capturer {
 public:
  explicit Capturer(FsState* s) : s_(*s) {}

  Status Dir(int dirfd, const std::string& rel, const std::string& shown) {
    DIR* d = ::fdopendir(dirfd);
    if (d == nullptr) {
      ::close(dirfd);
      return Errno("capture " + shown);
    }
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        names.emplace_back(e->d_name);
      }
    }
    Status st;
    for (const std::string& name : names) {
      st = Entry(dirfd, rel.empty() ? name : rel + "/" + name, name, shown + "/" + name);
      if (!st.ok()) break;
    }
    ::closedir(d);
    return st;
  }

 private:
  Status Entry(int dirfd, const std::string& rel, const std::string& name,
               const std::string& shown) {
    struct stat sb {};
    if (::fstatat(dirfd, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) != 0) {
      return Errno("stat " + shown);
    }
    const uint32_t mode = sb.st_mode & 07777;
    if (S_ISDIR(sb.st_mode)) {
      Status st = s_.AddDirectory(rel, mode);
      if (!st.ok()) return st;
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) return Errno("open " + shown);
      return Dir(fd, rel, shown);
    }
    if (!S_ISDIR(sb.st_mode) && sb.st_nlink > 1) {
      auto [it, inserted] = seen_.try_emplace({sb.st_dev, sb.st_ino}, rel);
      if (!inserted) return s_.AddHardLink(it->second, rel);
    }
    if (S_ISREG(sb.st_mode)) {
      int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) return Errno("open " + shown);
      std::string data;
      data.reserve(static_cast<size_t>(sb.st_size));
      bool ok = ReadAll(fd, &data);
      ::close(fd);
      if (!ok) return Errno("read " + shown);
      return s_.AddFile(rel, std::move(data), mode);
    }
    if (S_ISLNK(sb.st_mode)) {
      std::string target(static_cast<size_t>(sb.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) return Errno("readlink " + shown);
      target.resize(static_cast<size_t>(n));
      return s_.AddSymlink(rel, std::move(target));
    }
    if (S_ISFIFO(sb.st_mode)) return s_.AddFifo(rel, mode);
    // A socket file is the name bind(2) left for a server's rendezvous, not
    // data; a server removes and binds it again when it starts (Postfix's
    // master does). It is not part of a state.
    if (S_ISSOCK(sb.st_mode)) return Status::Ok();
    return Status::Error("capture " + shown + ": device files are not modelled");
  }

  FsState& s_;
  std::map<std::pair<dev_t, ino_t>, std::string> seen_;
};

}  // namespace

std::optional<FsState> Capture(const std::string& dir, Status* status) {
  auto fail = [&](Status st) -> std::optional<FsState> {
    if (status != nullptr) *status = std::move(st);
    return std::nullopt;
  };
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(Errno("capture " + dir));
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    ::close(fd);
    return fail(Errno("stat " + dir));
  }
  FsState state;
  state.SetRootMode(sb.st_mode & 07777);
  Status st = Capturer(&state).Dir(fd, "", dir);
  if (!st.ok()) return fail(std::move(st));
  if (status != nullptr) *status = Status::Ok();
  return state;
}

}  // namespace aftershock
