#include "injector/paths.h"

namespace aftershock::inject {
namespace {

// Appends one component to out (length *n), handling "." and "..".
bool PushComponent(const char* c, size_t len, char* out, size_t* n, size_t cap) {
  if (len == 0 || (len == 1 && c[0] == '.')) return true;
  if (len == 2 && c[0] == '.' && c[1] == '.') {
    while (*n > 1 && out[*n - 1] != '/') --*n;
    if (*n > 1) --*n;  // drop the slash too, unless it is the root
    return true;
  }
  if (*n + 1 + len + 1 > cap) return false;
  if (*n > 1) out[(*n)++] = '/';
  for (size_t i = 0; i < len; ++i) out[(*n)++] = c[i];
  return true;
}

bool PushAll(const char* p, size_t len, char* out, size_t* n, size_t cap) {
  size_t i = 0;
  while (i < len) {
    while (i < len && p[i] == '/') ++i;
    size_t start = i;
    while (i < len && p[i] != '/') ++i;
    if (!PushComponent(p + start, i - start, out, n, cap)) return false;
  }
  return true;
}

}  // namespace

size_t ResolvePath(const char* base, size_t base_len, const char* rel, size_t rel_len, char* out,
                   size_t cap) {
  if (cap < 2) return 0;
  size_t n = 0;
  out[n++] = '/';
  if (rel_len == 0 || rel[0] != '/') {
    if (!PushAll(base, base_len, out, &n, cap)) return 0;
  }
  if (!PushAll(rel, rel_len, out, &n, cap)) return 0;
  if (n < cap) out[n] = '\0';
  return n;
}

bool PathIsUnder(const char* path, size_t len, const char* dir, size_t dir_len) {
  if (dir_len == 0) return false;
  if (dir_len == 1 && dir[0] == '/') return true;
  if (len < dir_len) return false;
  for (size_t i = 0; i < dir_len; ++i) {
    if (path[i] != dir[i]) return false;
  }
  return len == dir_len || path[dir_len] == '/';
}

bool IsPseudoFilePath(const char* path, size_t len) {
  static const char kMemfd[] = "/memfd:";
  bool memfd = len >= sizeof kMemfd - 1;
  for (size_t i = 0; memfd && i < sizeof kMemfd - 1; ++i) memfd = path[i] == kMemfd[i];
  bool dev = PathIsUnder(path, len, "/dev", 4) && !PathIsUnder(path, len, "/dev/shm", 8);
  return memfd || PathIsUnder(path, len, "/proc", 5) || PathIsUnder(path, len, "/sys", 4) || dev;
}

}  // namespace aftershock::inject
