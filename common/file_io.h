// Small file helpers shared by every library of aftershock (model, injector,
// harness, reports). common/ depends on nothing, so that none of them has to
// depend on another for a loop around write(2).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace aftershock {

// Writes all `size` bytes to `fd`, retrying short writes and EINTR. Returns
// true iff every byte was written; otherwise errno says why.
bool WriteAll(int fd, const void* data, size_t size);
inline bool WriteAll(int fd, std::string_view data) {
  return WriteAll(fd, data.data(), data.size());
}

// The whole content of the file at `path`; "" when it cannot be read.
std::string ReadFileBytes(const std::string& path);

// `name` made usable as one path component: letters, digits, '-', '.' and
// '_' are kept, anything else becomes '_', and so does a leading '.' (no
// ".", "..", or hidden names). For run directories and output files named
// after scenarios and targets.
std::string SafeFileName(std::string_view name);

}  // namespace aftershock
