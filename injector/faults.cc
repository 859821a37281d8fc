#include "injector/faults.h"

#include <errno.h>

namespace aftershock::inject {
namespace {

bool Eq(const char* s, size_t n, const char* lit) {
  size_t i = 0;
  for (; i < n; ++i) {
    if (lit[i] == '\0' || lit[i] != s[i]) return false;
  }
  return lit[i] == '\0';
}

bool ParseU64(const char* s, size_t n, uint64_t* out) {
  if (n == 0 || n > 19) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  }
  *out = v;
  return true;
}

void SetErr(char* err, size_t cap, const char* msg, const char* rule, size_t rule_len) {
  if (cap == 0) return;
  size_t n = 0;
  for (const char* p = msg; *p != '\0' && n + 1 < cap; ++p) err[n++] = *p;
  const char* mid = " in fault rule \"";
  for (const char* p = mid; *p != '\0' && n + 1 < cap; ++p) err[n++] = *p;
  for (size_t i = 0; i < rule_len && n + 1 < cap; ++i) err[n++] = rule[i];
  if (n + 1 < cap) err[n++] = '"';
  err[n] = '\0';
}

struct Word {
  const char* p;
  size_t n;
};

// Splits one rule into words; returns the count (at most max).
int SplitWords(const char* s, size_t n, Word* words, int max) {
  int count = 0;
  size_t i = 0;
  while (i < n && count < max) {
    while (i < n && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= n) break;
    size_t start = i;
    while (i < n && s[i] != ' ' && s[i] != '\t') ++i;
    words[count++] = {s + start, i - start};
  }
  return count;
}

bool ParseRule(const char* s, size_t n, FaultPlan* plan, char* err, size_t cap) {
  Word w[8];
  int nw = SplitWords(s, n, w, 8);
  if (nw == 0 || (nw > 0 && w[0].p[0] == '#')) return true;  // blank or comment
  if (plan->count >= kMaxRules) {
    SetErr(err, cap, "too many fault rules", s, n);
    return false;
  }
  FaultRule r;
  int i = 1;
  if (Eq(w[0].p, w[0].n, "fail")) {
    r.action = FaultAction::kFail;
  } else if (Eq(w[0].p, w[0].n, "short")) {
    r.action = FaultAction::kShort;
  } else if (Eq(w[0].p, w[0].n, "kill") && nw > 1 && Eq(w[1].p, w[1].n, "before")) {
    r.action = FaultAction::kKillBefore;
    i = 2;
  } else if (Eq(w[0].p, w[0].n, "kill") && nw > 1 && Eq(w[1].p, w[1].n, "after")) {
    r.action = FaultAction::kKillAfter;
    i = 2;
  } else if (Eq(w[0].p, w[0].n, "pause") && nw > 1 && Eq(w[1].p, w[1].n, "before")) {
    r.action = FaultAction::kPause;
    i = 2;
  } else if (Eq(w[0].p, w[0].n, "count")) {
    r.action = FaultAction::kCount;
  } else {
    SetErr(err, cap, "expected fail, short, kill before, kill after, pause before or count", s, n);
    return false;
  }
  for (; i < nw; ++i) {
    const char* p = w[i].p;
    size_t len = w[i].n;
    size_t eq = 0;
    while (eq < len && p[eq] != '=') ++eq;
    if (eq == len) {  // the point name
      if (r.point[0] != '\0' || len >= sizeof r.point) {
        SetErr(err, cap, "bad point name", s, n);
        return false;
      }
      for (size_t k = 0; k < len; ++k) r.point[k] = p[k];
      r.point[len] = '\0';
      continue;
    }
    const char* v = p + eq + 1;
    size_t vn = len - eq - 1;
    bool ok = true;
    if (Eq(p, eq, "nth")) {
      ok = ParseU64(v, vn, &r.nth) && r.nth > 0;
    } else if (Eq(p, eq, "seq")) {
      ok = ParseU64(v, vn, &r.seq) && r.seq > 0;
    } else if (Eq(p, eq, "errno")) {
      r.err = ErrnoFromName(v, vn);
      ok = r.err > 0;
    } else if (Eq(p, eq, "bytes")) {
      ok = ParseU64(v, vn, &r.bytes);
    } else {
      ok = false;
    }
    if (!ok) {
      SetErr(err, cap, "bad option", s, n);
      return false;
    }
  }
  bool by_seq = r.action == FaultAction::kKillBefore || r.action == FaultAction::kKillAfter ||
                r.action == FaultAction::kPause;
  if (by_seq ? (r.seq == 0) == (r.point[0] == '\0') : r.point[0] == '\0') {
    SetErr(err, cap, by_seq ? "kill and pause need either seq=S or a point" : "missing point name",
           s, n);
    return false;
  }
  if (r.action == FaultAction::kCount && r.seq != 0) {
    SetErr(err, cap, "count takes no seq=", s, n);
    return false;
  }
  if (r.action == FaultAction::kCount && r.nth != 0) {
    SetErr(err, cap, "count takes no nth=", s, n);
    return false;
  }
  if (r.action == FaultAction::kFail && r.err == 0) {
    SetErr(err, cap, "fail needs errno=", s, n);
    return false;
  }
  if (r.seq != 0 && r.nth != 0) {
    SetErr(err, cap, "seq= and nth= do not combine", s, n);
    return false;
  }
  plan->rules[plan->count++] = r;
  return true;
}

}  // namespace

const ErrnoName kErrnoNames[] = {{"EIO", EIO},       {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT},
                                 {"EINTR", EINTR},   {"EACCES", EACCES}, {"EPERM", EPERM},
                                 {"ENOENT", ENOENT}, {"EEXIST", EEXIST}, {"EROFS", EROFS},
                                 {"EAGAIN", EAGAIN}, {"EBADF", EBADF},   {"EFBIG", EFBIG},
                                 {"EMFILE", EMFILE}, {"ENOMEM", ENOMEM}, {"EXDEV", EXDEV}};
const size_t kErrnoNameCount = sizeof kErrnoNames / sizeof kErrnoNames[0];

// libfiu's POSIX preload names where it covers the call (docs/injector.md,
// "Point names"), aftershock/... otherwise.
const char* const kFaultPoints[] = {
    "posix/io/oc/open",         "posix/io/oc/close",
    "posix/io/rw/write",        "posix/io/rw/write/reduce",
    "posix/io/rw/pwrite",       "posix/io/rw/pwrite/reduce",
    "posix/io/rw/writev",       "posix/io/rw/writev/reduce",
    "posix/io/rw/pwritev",      "posix/io/rw/pwritev/reduce",
    "posix/io/rw/truncate",     "posix/io/rw/ftruncate",
    "posix/io/sync/fsync",      "posix/io/sync/fdatasync",
    "posix/io/dir/rename",      "posix/io/dir/unlink",
    "linux/io/sync_file_range", "aftershock/io/creat",
    "aftershock/io/openat",     "aftershock/io/openat2",
    "aftershock/io/syncfs",     "aftershock/io/sync",
    "aftershock/io/renameat",   "aftershock/io/renameat2",
    "aftershock/io/unlinkat",   "aftershock/io/rmdir",
    "aftershock/io/link",       "aftershock/io/linkat",
    "aftershock/io/mkdir",      "aftershock/io/mkdirat",
    "aftershock/io/symlink",    "aftershock/io/symlinkat",
    "aftershock/io/mknod",      "aftershock/io/mknodat",
    "aftershock/io/chmod",      "aftershock/io/fchmod",
    "aftershock/io/fchmodat",   "aftershock/io/fchmodat2",
    "aftershock/io/fallocate",  "aftershock/io/dup",
    "aftershock/io/dup2",       "aftershock/io/dup3",
    "aftershock/io/fcntl",      "aftershock/io/copy_file_range",
    "aftershock/io/sendfile",   "aftershock/io/splice",
    "aftershock/io/msync",
};
const size_t kFaultPointCount = sizeof kFaultPoints / sizeof kFaultPoints[0];

int ErrnoFromName(const char* s, size_t n) {
  for (size_t i = 0; i < kErrnoNameCount; ++i) {
    if (Eq(s, n, kErrnoNames[i].name)) return kErrnoNames[i].value;
  }
  uint64_t v = 0;
  if (ParseU64(s, n, &v) && v > 0 && v < 4096) return static_cast<int>(v);
  return 0;
}

bool PointMatches(const char* pattern, const char* name) {
  size_t i = 0;
  for (; pattern[i] != '\0'; ++i) {
    if (pattern[i] == '*' && pattern[i + 1] == '\0') return true;
    if (pattern[i] != name[i]) return false;
  }
  return name[i] == '\0';
}

bool IsKnownPoint(const char* pattern) {
  for (size_t i = 0; i < kFaultPointCount; ++i) {
    if (PointMatches(pattern, kFaultPoints[i])) return true;
  }
  return false;
}

bool ParseFaultSpec(const char* spec, size_t len, FaultPlan* plan, char* err, size_t err_cap) {
  size_t i = 0;
  while (i < len) {
    size_t start = i;
    while (i < len && spec[i] != '\n' && spec[i] != ';') ++i;
    if (!ParseRule(spec + start, i - start, plan, err, err_cap)) return false;
    ++i;
  }
  return true;
}

}  // namespace aftershock::inject
