#include "harness/target/path_check.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace aftershock {

std::string PathShapeError(const std::string& path) {
  if (path.empty()) return "an empty path";
  if (path.size() >= PATH_MAX) {
    return path.substr(0, 64) + "...: path longer than " + std::to_string(PATH_MAX - 1) + " bytes";
  }
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end - start > NAME_MAX) {
      return path + ": a component longer than " + std::to_string(NAME_MAX) + " bytes";
    }
    start = end + 1;
  }
  return "";
}

std::string InputFileError(const std::string& path) {
  if (std::string e = PathShapeError(path); !e.empty()) return e;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return path + ": " + std::strerror(errno);
  struct stat st;
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  ::close(fd);
  if (!regular) return path + ": not a regular file";
  return "";
}

std::string OutputDirError(const std::string& path) {
  if (std::string e = PathShapeError(path); !e.empty()) return e;
  // The path itself, else its nearest existing ancestor, must be a directory.
  std::string at = path;
  while (true) {
    struct stat st;
    if (::stat(at.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) return "";
      return at == path ? path + ": not a directory" : path + ": " + at + " is not a directory";
    }
    if (errno != ENOENT) return path + ": " + std::strerror(errno);
    size_t slash = at.find_last_of('/');
    if (slash == std::string::npos) return "";  // relative: the cwd is the ancestor
    if (slash == 0) return "";                  // the root
    at.resize(slash);
  }
}

}  // namespace aftershock
