#include "common/file_io.h"

#include <errno.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace aftershock {

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t w = ::write(fd, p, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    size -= static_cast<size_t>(w);
  }
  return true;
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string SafeFileName(std::string_view name) {
  std::string out;
  for (char c : name) {
    bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                (c == '.' && !out.empty());
    out += keep ? c : '_';
  }
  return out;
}

}  // namespace aftershock
