// Human-readable rendering of ops, as strace prints calls.
#include <fcntl.h>
#include <sys/mman.h>

#include <cstring>
#include <string>

#include "model/trace.h"

namespace aftershock {
namespace {

std::string Quote(const std::string& s, size_t max = 32) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (s.size() > max) out += "...";
  return out;
}

std::string Octal(uint32_t m) {
  char b[16];
  std::snprintf(b, sizeof b, "0%o", m & 07777);
  return b;
}

std::string OpenFlags(uint32_t f) {
  std::string s;
  switch (f & O_ACCMODE) {
    case O_RDONLY: s = "O_RDONLY"; break;
    case O_WRONLY: s = "O_WRONLY"; break;
    default: s = "O_RDWR"; break;
  }
  struct { uint32_t bit; const char* name; } names[] = {
      {O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_TRUNC, "O_TRUNC"},
      {O_APPEND, "O_APPEND"}, {O_DIRECTORY, "O_DIRECTORY"}, {O_CLOEXEC, "O_CLOEXEC"},
      {O_SYNC & ~O_DSYNC, "O_SYNC"}, {O_DSYNC, "O_DSYNC"}, {O_NOFOLLOW, "O_NOFOLLOW"},
  };
  for (const auto& n : names) {
    if ((f & n.bit) == n.bit && n.bit != 0) s += std::string("|") + n.name;
  }
  if ((f & __O_TMPFILE) == __O_TMPFILE) s += "|O_TMPFILE";
  return s;
}

std::string MsyncFlags(uint32_t f) {
  std::string s;
  if (f & MS_ASYNC) s += "|MS_ASYNC";
  if (f & MS_SYNC) s += "|MS_SYNC";
  if (f & MS_INVALIDATE) s += "|MS_INVALIDATE";
  return s.empty() ? "0" : s.substr(1);
}

std::string Args(const Op& op) {
  using K = OpKind;
  const std::string fd = std::to_string(op.fd);
  switch (op.kind) {
    case K::kOpen:
      return Quote(op.path, 4096) + ", " + OpenFlags(op.oflags) +
             ((op.oflags & O_CREAT) ? ", " + Octal(op.mode) : "");
    case K::kWrite:
      return (op.fd < 0 ? "<" + op.path + ">" : fd) + ", " + Quote(op.data) + ", " +
             std::to_string(op.length) + " @" + std::to_string(op.offset) +
             (op.mode != 0 ? ", rwf " + std::to_string(op.mode) : "");
    case K::kTruncate:
      return (op.path.empty() ? fd : Quote(op.path, 4096)) + ", " + std::to_string(op.length);
    case K::kMsync:
      return "<" + op.path + "> @" + std::to_string(op.offset) + ", " +
             std::to_string(op.length) + ", " + MsyncFlags(op.oflags);
    case K::kFallocate:
    case K::kSyncFileRange:
      return fd + ", " + std::to_string(op.oflags) + ", " + std::to_string(op.offset) + ", " +
             std::to_string(op.length);
    case K::kRename:
    case K::kLink:
      return Quote(op.path, 4096) + ", " + Quote(op.path2, 4096) +
             (op.oflags ? ", " + std::to_string(op.oflags) : "");
    case K::kSymlink:
      return Quote(op.data, 4096) + ", " + Quote(op.path, 4096);
    case K::kUnlink:
    case K::kRmdir:
      return Quote(op.path, 4096);
    case K::kMkdir:
    case K::kMknod:
      return Quote(op.path, 4096) + ", " + Octal(op.mode);
    case K::kChmod:
      return (op.path.empty() ? fd : Quote(op.path, 4096)) + ", " + Octal(op.mode);
    case K::kFsync:
    case K::kFdatasync:
    case K::kSyncfs:
    case K::kClose:
      return fd + (op.path.empty() ? "" : "<" + op.path + ">");
    case K::kDup:
      return fd;
    case K::kExec:
      return Quote(op.path, 4096);
    case K::kGap:
    case K::kMark:
    case K::kMeta:
      return Quote(op.path, 4096) + (op.data.empty() ? "" : ", " + Quote(op.data, 200));
    case K::kSync:
    case K::kFork:
    case K::kExit:
    case K::kInvalid:
      break;
  }
  return "";
}

}  // namespace

std::string FormatOp(const Op& op) {
  char head[64];
  std::snprintf(head, sizeof head, "%6llu [pid %5d] ", static_cast<unsigned long long>(op.seq),
                op.pid);
  std::string s = head;
  s += trace::KindName(op.kind);
  s += "(" + Args(op) + ")";
  if (op.kind == OpKind::kGap || op.kind == OpKind::kMark || op.kind == OpKind::kMeta) return s;
  if (op.Has(trace::kFlagNotPerformed)) {
    s += " = ? [not performed: killed just before it]";
    return s;
  }
  if (op.result < 0 || op.err != 0) {
    s += " = -1 " + std::string(strerrorname_np(op.err) ? strerrorname_np(op.err) : "E?") +
         " (" + std::strerror(op.err) + ")";
  } else {
    s += " = " + std::to_string(op.result);
  }
  if (op.Has(trace::kFlagInjected)) s += " [injected]";
  if (op.Has(trace::kFlagShort)) s += " [short]";
  if (op.Has(trace::kFlagEscape)) s += " [ESCAPE: outside root]";
  if (op.Has(trace::kFlagKilled)) s += " [killed here]";
  if (op.Has(trace::kFlagMapped)) s += " [stored through a mapping]";
  return s;
}

}  // namespace aftershock
