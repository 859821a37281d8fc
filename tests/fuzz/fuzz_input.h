// Shared pieces of the fuzz targets (docs/testing.md, "Fuzzing"). Each target
// defines LLVMFuzzerTestOneInput; libFuzzer drives it in a campaign build,
// regress_main.cc drives it over its corpus in the normal suite.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace aftershock::fuzz {

// A fuzz target found a broken invariant: say which, then abort, so that
// libFuzzer keeps the input and the regression run fails.
[[noreturn]] inline void Broken(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

// Writes `data` to a file of this process (the parsers read paths) and
// returns its path. The same file is reused for every input.
inline std::string InputFile(const uint8_t* data, size_t size, const char* suffix) {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp && *tmp ? tmp : "/tmp");
  }();
  std::string path = dir + "/aftershock-fuzz-" + std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) Broken("cannot write " + path);
  if (size > 0 && std::fwrite(data, 1, size, f) != size) Broken("short write to " + path);
  std::fclose(f);
  return path;
}

// Removes the input file when the process ends (libFuzzer and the
// regression driver both return from main or call exit).
struct InputFileCleanup {
  std::string path;
  ~InputFileCleanup() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// True iff `error` starts with "<file>:<line>:<column>: ".
inline bool HasPlace(const std::string& error, const std::string& file) {
  if (error.compare(0, file.size(), file) != 0) return false;
  size_t at = file.size();
  for (int part = 0; part < 2; ++part) {
    if (at >= error.size() || error[at] != ':') return false;
    size_t digits = ++at;
    while (at < error.size() && error[at] >= '0' && error[at] <= '9') ++at;
    if (at == digits) return false;
  }
  return error.compare(at, 2, ": ") == 0;
}

// The input cut at NUL bytes: one string per field, for targets that build
// a structure from many strings.
inline std::vector<std::string> Fields(const uint8_t* data, size_t size) {
  std::vector<std::string> out;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  while (start <= text.size() && out.size() < 4096) {
    size_t end = text.find('\0', start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace aftershock::fuzz
