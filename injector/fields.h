// Strings and lists sent to another process as text: each field is
// "<length>:<bytes>", so a field may hold any byte (a path with a newline,
// an environment entry). The sandbox's spec and the fork server's requests
// (sandbox.h, fork_server.h) use it. Header-only: the fork server's preload
// library includes it too.
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

namespace aftershock::fields {

inline void Put(std::string* out, const std::string& field) {
  *out += std::to_string(field.size()) + ":" + field;
}

// The field at *at, which moves past it; false when malformed or cut short.
inline bool Take(const std::string& in, size_t* at, std::string* field) {
  size_t colon = in.find(':', *at);
  if (colon == std::string::npos || colon == *at || colon - *at > 9) return false;
  size_t n = 0;
  for (size_t i = *at; i < colon; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(in[i]))) return false;
    n = n * 10 + static_cast<size_t>(in[i] - '0');
  }
  if (colon + 1 + n > in.size()) return false;
  *field = in.substr(colon + 1, n);
  *at = colon + 1 + n;
  return true;
}

inline bool ParseNumber(const std::string& f, uint64_t* n) {
  if (f.empty() || f.size() > 19) return false;
  *n = 0;
  for (char c : f) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    *n = *n * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

inline bool TakeNumber(const std::string& in, size_t* at, uint64_t* n) {
  std::string f;
  return Take(in, at, &f) && ParseNumber(f, n);
}

inline void PutList(std::string* out, const std::vector<std::string>& list) {
  Put(out, std::to_string(list.size()));
  for (const std::string& s : list) Put(out, s);
}

inline bool TakeList(const std::string& in, size_t* at, std::vector<std::string>* list) {
  constexpr uint64_t kMaxItems = 1 << 16;
  uint64_t n = 0;
  if (!TakeNumber(in, at, &n) || n > kMaxItems) return false;
  list->resize(n);
  for (std::string& s : *list) {
    if (!Take(in, at, &s)) return false;
  }
  return true;
}

}  // namespace aftershock::fields
