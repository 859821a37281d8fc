#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace refqueue {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

int Fd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(name);
  return path;
}

Status CreateExclusive(const std::string& path, mode_t mode, Fd* out, bool* exists) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  *exists = fd < 0 && errno == EEXIST;
  if (fd < 0 && !*exists) return Status::IoError("create " + path, errno);
  *out = Fd(fd);
  return Status::Ok();
}

Status OpenForUpdate(const std::string& path, Fd* out) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::IoError("open " + path, errno);
  *out = Fd(fd);
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("write " + what, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status PwriteAll(int fd, std::string_view data, uint64_t offset, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("pwrite " + what, errno);
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status Fsync(int fd, const std::string& what) {
  if (fsync(fd) != 0) return Status::IoError("fsync " + what, errno);
  return Status::Ok();
}

Status Fchmod(int fd, mode_t mode, const std::string& what) {
  if (fchmod(fd, mode) != 0) return Status::IoError("fchmod " + what, errno);
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  Fd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("open directory " + dir, errno);
  return Fsync(fd.get(), dir);
}

Status ReadFd(int fd, const std::string& what, std::string* out) {
  out->clear();
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError("read " + what, errno);
    if (n == 0) return Status::Ok();
    out->append(buffer, static_cast<size_t>(n));
  }
}

Status ReadFile(const std::string& path, std::string* out) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::IoError("open " + path, errno);
  return ReadFd(fd.get(), path, out);
}

Status ListDir(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError("opendir " + dir, errno);
  }
  errno = 0;
  while (struct dirent* entry = readdir(d)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names->emplace_back(name);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return Status::IoError("readdir " + dir, err);
  // Sorted so that the same state always gives the same sequence of calls.
  std::sort(names->begin(), names->end());
  return Status::Ok();
}

Status EnsureDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::Invalid(dir + " exists and is not a directory");
    return Status::Ok();
  }
  size_t slash = dir.find_last_of('/');
  std::string parent = slash == std::string::npos ? std::string(".")
                       : slash == 0               ? std::string("/")
                                                  : dir.substr(0, slash);
  if (parent != dir) REFQUEUE_RETURN_IF_ERROR(EnsureDir(parent));
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::IoError("mkdir " + dir, errno);
  }
  // Without this a power loss can drop the new directory, and with it every
  // file later committed inside it.
  return SyncDir(parent);
}

Status StatPath(const std::string& path, struct stat* st, bool* exists) {
  *exists = lstat(path.c_str(), st) == 0;
  if (!*exists && errno != ENOENT) return Status::IoError("stat " + path, errno);
  return Status::Ok();
}

Status Unlink(const std::string& path) {
  if (unlink(path.c_str()) != 0) return Status::IoError("unlink " + path, errno);
  return Status::Ok();
}

Status Link(const std::string& from, const std::string& to, bool* exists) {
  *exists = false;
  if (link(from.c_str(), to.c_str()) == 0) return Status::Ok();
  if (errno == EEXIST) {
    *exists = true;
    return Status::Ok();
  }
  return Status::IoError("link " + from + " -> " + to, errno);
}

Status Rename(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) {
    return Status::IoError("rename " + from + " -> " + to, errno);
  }
  return Status::Ok();
}

}  // namespace refqueue
