// Parsing /proc/self/maps lines: allocation-free, shared with unit tests.
#include "injector/modules.h"
#include "injector/raw.h"

namespace aftershock::inject {
namespace {

bool ParseHex(const char*& p, const char* end, uint64_t* out) {
  uint64_t v = 0;
  const char* start = p;
  while (p < end) {
    char c = *p;
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) break;
    v = v * 16 + static_cast<uint64_t>(d);
    ++p;
  }
  *out = v;
  return p > start;
}

void SkipSpaces(const char*& p, const char* end) {
  while (p < end && *p == ' ') ++p;
}

void SkipField(const char*& p, const char* end) {
  while (p < end && *p != ' ') ++p;
  SkipSpaces(p, end);
}

}  // namespace

bool ParseMapsLine(const char* line, size_t n, MapsLine* out) {
  const char* p = line;
  const char* end = line + n;
  if (!ParseHex(p, end, &out->start) || p >= end || *p != '-') return false;
  ++p;
  if (!ParseHex(p, end, &out->end) || p >= end || *p != ' ') return false;
  SkipSpaces(p, end);
  if (end - p < 4) return false;
  out->read = p[0] == 'r';
  out->write = p[1] == 'w';
  out->exec = p[2] == 'x';
  SkipField(p, end);
  if (!ParseHex(p, end, &out->offset)) return false;
  SkipSpaces(p, end);
  SkipField(p, end);  // dev
  SkipField(p, end);  // inode
  out->path = p;
  out->path_len = static_cast<size_t>(end - p);
  return true;
}

bool IsRuntimeModule(const char* path, size_t len) {
  size_t base = len;
  while (base > 0 && path[base - 1] != '/') --base;
  const char* b = path + base;
  size_t bn = len - base;
  return StartsWith(b, bn, "libc.so") || StartsWith(b, bn, "libc-") ||
         StartsWith(b, bn, "ld-linux") || StartsWith(b, bn, "libaftershock_inject") ||
         StartsWith(b, bn, "libstdc++") || StartsWith(b, bn, "libpthread");
}

}  // namespace aftershock::inject
