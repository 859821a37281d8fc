// Thin wrappers over the POSIX calls the queue makes, returning Status. Every
// file-system call of the queue goes through here or through an Fd, so the
// durability protocol reads as a list of named steps.
#ifndef REFQUEUE_FS_H_
#define REFQUEUE_FS_H_

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace refqueue {

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();

 private:
  int fd_ = -1;
};

std::string JoinPath(std::string_view dir, std::string_view name);

// Creates `path` with O_EXCL. Sets *exists (and returns Ok) if it is taken.
Status CreateExclusive(const std::string& path, mode_t mode, Fd* out, bool* exists);
Status OpenForUpdate(const std::string& path, Fd* out);
Status WriteAll(int fd, std::string_view data, const std::string& what);
Status PwriteAll(int fd, std::string_view data, uint64_t offset, const std::string& what);
Status Fsync(int fd, const std::string& what);
Status Fchmod(int fd, mode_t mode, const std::string& what);
// Opens directory `dir` and fsyncs it, making its entries (creates, links,
// unlinks, renames) durable.
Status SyncDir(const std::string& dir);
Status ReadFile(const std::string& path, std::string* out);
Status ReadFd(int fd, const std::string& what, std::string* out);
// Sorted entry names, without "." and "..". A missing directory is empty.
Status ListDir(const std::string& dir, std::vector<std::string>* names);
// Creates `dir` and its missing parents; each new entry is made durable.
Status EnsureDir(const std::string& dir);
// Sets *exists; fills *st when it does.
Status StatPath(const std::string& path, struct stat* st, bool* exists);
Status Unlink(const std::string& path);
Status Link(const std::string& from, const std::string& to, bool* exists);
Status Rename(const std::string& from, const std::string& to);

// True iff the owner-execute bit is set: the file is marked complete.
inline bool IsComplete(const struct stat& st) { return (st.st_mode & S_IXUSR) != 0; }

inline constexpr mode_t kIncompleteMode = 0600;
inline constexpr mode_t kCompleteMode = 0700;

}  // namespace refqueue

#endif  // REFQUEUE_FS_H_
