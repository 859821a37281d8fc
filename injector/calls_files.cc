// Calls that name files by path: open, rename, link, unlink, mkdir, rmdir,
// symlink, mknod, chmod, truncate.
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include "injector/dispatch.h"
#include "injector/fd_table.h"
#include "injector/raw.h"
#include "injector/runtime.h"

namespace aftershock::inject {
namespace {

using trace::OpKind;

const char* P(long v) { return reinterpret_cast<const char*>(v); }

// The argument that holds an open's flags, or -1 (creat, openat2).
int FlagsArg(long nr) {
  if (nr == SYS_open) return 1;
  if (nr == SYS_openat) return 2;
  return -1;
}

// Performs an open that may create its file (O_CREAT without O_EXCL) and
// says whether the file existed before it. The same open with O_EXCL
// first: when it creates the file, that is the answer and the call at
// once. Otherwise (the name exists: maybe a symlink, which O_EXCL never
// follows) the name is looked at (following symlinks, as the open does)
// and the open made as the target asked.
long PerformOpen(const Call& c, int dirfd, const char* user, bool may_create, bool* existed) {
  if (!may_create) return Perform(c);
  int at = FlagsArg(c.nr);
  if (at >= 0 && (c.a[at] & O_DIRECTORY) == 0) {
    Call exclusive = c;
    exclusive.a[at] |= O_EXCL;
    long raw = Perform(exclusive);
    if (raw != -EEXIST) {
      *existed = IsErr(raw);  // failed for another reason: so would the open asked for
      return raw;
    }
  }
  *existed = !IsErr(Sys(SYS_faccessat, dirfd, A(user), F_OK));
  return Perform(c);
}

bool Open(Call& c, int dirfd, const char* user, long flags, long mode, const char* point) {
  bool tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
  bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0 || tmpfile;
  // Read-only opens outside the root are never recorded (the fd is looked
  // up if it is ever written); inside it they are, so that a later fsync of
  // the fd (a directory, typically) names a file the model knows.
  if (!writes && g_rt.root_len == 0) return false;
  if ((flags & O_PATH) != 0) return false;
  ThreadBuf* b = Buf();
  if (b == nullptr) return false;
  size_t len = ResolveAt(dirfd, user, b->path);
  if (len == 0 || IsUnrecordedPath(b->path, len)) return false;
  if (!writes && !PathIsUnder(b->path, len, g_rt.root, g_rt.root_len)) return false;
  bool existed = true;
  // Whether this open creates the file is read just before it: another
  // task of this memory (a thread, a vfork-like child) opening the same
  // name must not come between the look, the sequence number and the call.
  bool may_create = (flags & O_CREAT) != 0 && (flags & O_EXCL) == 0;
  if (may_create) LockPosition();
  Recorded r(c, OpKind::kOpen);
  Event& ev = r.ev();
  long raw = r.Begin(point) ? PerformOpen(c, dirfd, user, may_create, &existed) : -r.decision().err;
  if (may_create) UnlockPosition();
  uint32_t type = 0;
  uint32_t perm = 0;
  if (raw >= 0) {
    const FdSlot* s =
        RememberOpen(static_cast<int>(raw), b->path, len, static_cast<uint32_t>(flags));
    if (s->state != kSlotRegular && s->state != kSlotDirectory) {
      Return(c, raw);  // a device, fifo or socket: not a file-system mutation
      return true;
    }
    ev.h.dev = s->dev;
    ev.h.ino = s->ino;
    type = s->mode & S_IFMT;
    perm = s->mode & 07777;
    if (s->state == kSlotDirectory) ev.h.flags |= trace::kFlagDirectory;
    if (tmpfile || ((flags & O_CREAT) != 0 && ((flags & O_EXCL) != 0 || !existed))) {
      ev.h.flags |= trace::kFlagCreated;
    }
    ev.h.fd = static_cast<int32_t>(raw);
  }
  ev.h.fd2 = dirfd;
  ev.h.oflags = static_cast<uint32_t>(flags);
  // Succeeded: the file's actual type and permission bits (the umask
  // applied); failed: the requested permission bits.
  ev.h.mode = type != 0 ? perm | type : static_cast<uint32_t>(mode & 07777);
  ev.path = b->path;
  ev.h.path_len = static_cast<uint32_t>(len);
  if (IsEscape(b->path, len)) ev.h.flags |= trace::kFlagEscape;
  Return(c, r.Finish(raw));
  return true;
}

struct PathArgs {
  int dirfd = AT_FDCWD;
  const char* path = nullptr;
  int dirfd2 = AT_FDCWD;
  const char* path2 = nullptr;
  uint32_t oflags = 0;
  uint32_t mode = 0;
  uint64_t length = 0;
  const char* data = nullptr;  // symlink target
};

// A socket file is a name bind(2) made for a server's rendezvous, not data:
// the models hold no sockets (bind is not recorded), so neither is a chmod
// or an unlink of one (Postfix's master removes and binds its sockets at
// start and opens public/ ones to postdrop's group). `follow`: as chmod.
bool IsSocket(const PathArgs& p, bool follow) {
  struct stat st;
  long r = Sys(SYS_newfstatat, p.dirfd, A(p.path), A(&st), follow ? 0 : AT_SYMLINK_NOFOLLOW);
  return !IsErr(r) && S_ISSOCK(st.st_mode);
}

// A call on one or two paths.
bool PathOp(Call& c, OpKind kind, const PathArgs& p, const char* point) {
  ThreadBuf* b = Buf();
  if (b == nullptr) return false;
  size_t len = ResolveAt(p.dirfd, p.path, b->path);
  if (len == 0) return false;
  size_t len2 = 0;
  if (p.path2 != nullptr) {
    len2 = ResolveAt(p.dirfd2, p.path2, b->path2);
    if (len2 == 0) return false;
  }
  if (IsUnrecordedPath(b->path, len) && (len2 == 0 || IsUnrecordedPath(b->path2, len2))) {
    return false;
  }
  Recorded r(c, kind);
  Event& ev = r.ev();
  ev.path = b->path;
  ev.h.path_len = static_cast<uint32_t>(len);
  if (len2 > 0) {
    ev.path2 = b->path2;
    ev.h.path2_len = static_cast<uint32_t>(len2);
  }
  ev.h.fd2 = p.dirfd;
  ev.h.oflags = p.oflags;
  ev.h.mode = p.mode;
  ev.h.length = p.length;
  if (p.data != nullptr) {
    ev.data = p.data;
    ev.h.data_len = static_cast<uint32_t>(StrLen(p.data));
  }
  if (IsEscape(b->path, len) || (len2 > 0 && IsEscape(b->path2, len2))) {
    ev.h.flags |= trace::kFlagEscape;
  }
  long raw = r.Begin(point) ? Perform(c) : -r.decision().err;
  if (raw == 0 && kind == OpKind::kRename) RenameInTable(b->path, len, b->path2, len2);
  if (raw == 0 && (kind == OpKind::kMkdir || kind == OpKind::kMknod)) {
    // The mode it got (the umask applied) and its identity.
    struct stat st;
    if (!IsErr(Sys(SYS_newfstatat, p.dirfd, A(p.path), A(&st), AT_SYMLINK_NOFOLLOW))) {
      ev.h.mode = st.st_mode;
      ev.h.dev = st.st_dev;
      ev.h.ino = st.st_ino;
    }
  }
  Return(c, r.Finish(raw));
  return true;
}

bool Link(Call& c, int olddir, const char* oldp, int newdir, const char* newp, int flags,
          const char* point) {
  ThreadBuf* b = Buf();
  if (b == nullptr) return false;
  // An O_TMPFILE file gets its name by linkat(fd, "", ..., AT_EMPTY_PATH) or
  // through /proc/self/fd/N: the source is then an fd, not a path.
  int src_fd = -1;
  if ((flags & AT_EMPTY_PATH) != 0 && oldp != nullptr && oldp[0] == '\0') src_fd = olddir;
  if (oldp != nullptr && StartsWith(oldp, StrLen(oldp), "/proc/self/fd/")) {
    int v = 0;
    for (const char* q = oldp + 14; *q >= '0' && *q <= '9'; ++q) v = v * 10 + (*q - '0');
    src_fd = v;
  }
  if (src_fd < 0) {
    PathArgs p;
    p.dirfd = olddir;
    p.path = oldp;
    p.dirfd2 = newdir;
    p.path2 = newp;
    p.oflags = static_cast<uint32_t>(flags);
    return PathOp(c, OpKind::kLink, p, point);
  }
  const FdSlot* s = LookupFd(src_fd);
  size_t len2 = ResolveAt(newdir, newp, b->path2);
  if (len2 == 0) return false;
  Recorded r(c, OpKind::kLink);
  Event& ev = r.ev();
  // The source is the fd's file (dev/ino), not a path: path stays empty.
  ev.path2 = b->path2;
  ev.h.path2_len = static_cast<uint32_t>(len2);
  ev.h.fd = src_fd;
  ev.h.fd2 = newdir;
  ev.h.dev = s->dev;
  ev.h.ino = s->ino;
  ev.h.oflags = static_cast<uint32_t>(flags);
  if (IsEscape(b->path2, len2)) ev.h.flags |= trace::kFlagEscape;
  long raw = r.Begin(point) ? Perform(c) : -r.decision().err;
  Return(c, r.Finish(raw));
  return true;
}

}  // namespace

bool HandleFileCall(Call& c) {
  const long* a = c.a;
  PathArgs p;
  switch (c.nr) {
    case SYS_open:
      return Open(c, AT_FDCWD, P(a[0]), a[1], a[2], "posix/io/oc/open");
    case SYS_creat:
      return Open(c, AT_FDCWD, P(a[0]), O_CREAT | O_WRONLY | O_TRUNC, a[1], "aftershock/io/creat");
    case SYS_openat:
      return Open(c, static_cast<int>(a[0]), P(a[1]), a[2], a[3], "aftershock/io/openat");
    case SYS_openat2: {
      const struct open_how* how = reinterpret_cast<const struct open_how*>(a[2]);
      if (how == nullptr) return false;
      return Open(c, static_cast<int>(a[0]), P(a[1]), static_cast<long>(how->flags),
                  static_cast<long>(how->mode), "aftershock/io/openat2");
    }
    case SYS_rename:
      p.path = P(a[0]);
      p.path2 = P(a[1]);
      return PathOp(c, OpKind::kRename, p, "posix/io/dir/rename");
    case SYS_renameat:
    case SYS_renameat2:
      p.dirfd = static_cast<int>(a[0]);
      p.path = P(a[1]);
      p.dirfd2 = static_cast<int>(a[2]);
      p.path2 = P(a[3]);
      if (c.nr == SYS_renameat2) p.oflags = static_cast<uint32_t>(a[4]);
      return PathOp(c, OpKind::kRename, p,
                    c.nr == SYS_renameat ? "aftershock/io/renameat" : "aftershock/io/renameat2");
    case SYS_link:
      return Link(c, AT_FDCWD, P(a[0]), AT_FDCWD, P(a[1]), 0, "aftershock/io/link");
    case SYS_linkat:
      return Link(c, static_cast<int>(a[0]), P(a[1]), static_cast<int>(a[2]), P(a[3]),
                  static_cast<int>(a[4]), "aftershock/io/linkat");
    case SYS_unlink:
      p.path = P(a[0]);
      if (IsSocket(p, false)) return false;
      return PathOp(c, OpKind::kUnlink, p, "posix/io/dir/unlink");
    case SYS_unlinkat:
      p.dirfd = static_cast<int>(a[0]);
      p.path = P(a[1]);
      p.oflags = static_cast<uint32_t>(a[2]);
      if (!(a[2] & AT_REMOVEDIR) && IsSocket(p, false)) return false;
      return PathOp(c, (a[2] & AT_REMOVEDIR) ? OpKind::kRmdir : OpKind::kUnlink, p,
                    "aftershock/io/unlinkat");
    case SYS_rmdir:
      p.path = P(a[0]);
      return PathOp(c, OpKind::kRmdir, p, "aftershock/io/rmdir");
    case SYS_mkdir:
      p.path = P(a[0]);
      p.mode = static_cast<uint32_t>(a[1]);
      return PathOp(c, OpKind::kMkdir, p, "aftershock/io/mkdir");
    case SYS_mkdirat:
      p.dirfd = static_cast<int>(a[0]);
      p.path = P(a[1]);
      p.mode = static_cast<uint32_t>(a[2]);
      return PathOp(c, OpKind::kMkdir, p, "aftershock/io/mkdirat");
    case SYS_mknod:
      p.path = P(a[0]);
      p.mode = static_cast<uint32_t>(a[1]);
      return PathOp(c, OpKind::kMknod, p, "aftershock/io/mknod");
    case SYS_mknodat:
      p.dirfd = static_cast<int>(a[0]);
      p.path = P(a[1]);
      p.mode = static_cast<uint32_t>(a[2]);
      return PathOp(c, OpKind::kMknod, p, "aftershock/io/mknodat");
    case SYS_symlink:
      p.path = P(a[1]);
      p.data = P(a[0]);
      return PathOp(c, OpKind::kSymlink, p, "aftershock/io/symlink");
    case SYS_symlinkat:
      p.dirfd = static_cast<int>(a[1]);
      p.path = P(a[2]);
      p.data = P(a[0]);
      return PathOp(c, OpKind::kSymlink, p, "aftershock/io/symlinkat");
    case SYS_chmod:
      p.path = P(a[0]);
      p.mode = static_cast<uint32_t>(a[1]);
      if (IsSocket(p, true)) return false;
      return PathOp(c, OpKind::kChmod, p, "aftershock/io/chmod");
    case SYS_fchmodat:
    case 452:  // fchmodat2
      p.dirfd = static_cast<int>(a[0]);
      p.path = P(a[1]);
      p.mode = static_cast<uint32_t>(a[2]);
      if (c.nr == 452) p.oflags = static_cast<uint32_t>(a[3]);
      if (IsSocket(p, true)) return false;
      return PathOp(c, OpKind::kChmod, p,
                    c.nr == 452 ? "aftershock/io/fchmodat2" : "aftershock/io/fchmodat");
    case SYS_truncate:
      p.path = P(a[0]);
      p.length = static_cast<uint64_t>(a[1]);
      return PathOp(c, OpKind::kTruncate, p, "posix/io/rw/truncate");
    default:
      return false;
  }
}

}  // namespace aftershock::inject
