// Calls on file descriptors: writes, syncs, truncation, chmod, close, dup,
// fcntl, chdir; and refusing the calls that would copy file data inside the
// kernel where the recorder cannot see the bytes.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "injector/dispatch.h"
#include "injector/fd_table.h"
#include "injector/mappings.h"
#include "injector/raw.h"
#include "injector/runtime.h"

namespace aftershock::inject {
namespace {

using trace::OpKind;

constexpr uint64_t kMaxRecordedData = 512u << 20;

bool Recordable(const FdSlot* s) { return s->state == kSlotRegular || s->state == kSlotDirectory; }

// A recorded call on one fd, performed as the target made it.
bool FdOp(Call& c, OpKind kind, const char* point, bool mutation, bool dirs_too) {
  int fd = static_cast<int>(c.a[0]);
  const FdSlot* s = LookupFd(fd);
  if (!(s->state == kSlotRegular || (dirs_too && s->state == kSlotDirectory))) return false;
  Recorded r(c, kind);
  Event& ev = r.ev();
  DescribeFd(ev, fd, s, mutation);
  switch (kind) {
    case OpKind::kTruncate:
      ev.h.length = static_cast<uint64_t>(c.a[1]);
      break;
    case OpKind::kChmod:
      ev.h.mode = static_cast<uint32_t>(c.a[1]);
      break;
    case OpKind::kFallocate:
      ev.h.oflags = static_cast<uint32_t>(c.a[1]);
      ev.h.offset = c.a[2];
      ev.h.length = static_cast<uint64_t>(c.a[3]);
      break;
    case OpKind::kSyncFileRange:
      ev.h.offset = c.a[1];
      ev.h.length = static_cast<uint64_t>(c.a[2]);
      ev.h.oflags = static_cast<uint32_t>(c.a[3]);
      break;
    default:
      break;
  }
  long raw = r.Begin(point) ? Perform(c) : -r.decision().err;
  Return(c, r.Finish(raw));
  return true;
}

// Serialises the writes of this process whose landing offset is read back
// from the file position afterwards (appends, and writes at the current
// position): threads sharing one open file would otherwise see each
// other's offsets. Also makes the sequence order their real order.
int g_position_lock;

}  // namespace

void LockPosition() {
  while (__atomic_exchange_n(&g_position_lock, 1, __ATOMIC_ACQUIRE) != 0) {
    __builtin_ia32_pause();
  }
}
void UnlockPosition() { __atomic_store_n(&g_position_lock, 0, __ATOMIC_RELEASE); }

void ResetPositionLock() { g_position_lock = 0; }

// Fills the file part of ev from slot s (path copied to scratch: the slot
// may change under the call).
void DescribeFd(Event& ev, int fd, const FdSlot* s, bool mutation) {
  ThreadBuf* b = Buf();
  ev.h.fd = fd;
  ev.h.dev = s->dev;
  ev.h.ino = s->ino;
  if (s->state == kSlotDirectory) ev.h.flags |= trace::kFlagDirectory;
  if (b != nullptr && s->path_len > 0) {
    MemCopy(b->path, s->path, s->path_len);
    ev.path = b->path;
    ev.h.path_len = s->path_len;
    if (mutation && IsEscape(b->path, s->path_len)) ev.h.flags |= trace::kFlagEscape;
  }
}

namespace {

bool Write(Call& c, bool positional, bool vector, const char* point, const char* reduce) {
  int fd = static_cast<int>(c.a[0]);
  const FdSlot* s = LookupFd(fd);
  if (s->state != kSlotRegular) return false;
  ThreadBuf* b = Buf();
  if (b == nullptr) return false;
  const struct iovec* iov = vector ? reinterpret_cast<const struct iovec*>(c.a[1]) : nullptr;
  int iovcnt = vector ? static_cast<int>(c.a[2]) : 0;
  if (vector && (iov == nullptr || iovcnt < 0 || iovcnt > 1024)) return false;
  uint64_t requested = 0;
  if (vector) {
    for (int i = 0; i < iovcnt; ++i) requested += iov[i].iov_len;
  } else {
    requested = static_cast<uint64_t>(c.a[2]);
  }
  bool append = (s->oflags & O_APPEND) != 0 || (c.nr == SYS_pwritev2 && (c.a[5] & RWF_APPEND));
  if (c.nr == SYS_pwritev2 && c.a[3] == -1) positional = false;
  bool locked = !positional || append;
  if (locked) LockPosition();
  Recorded r(c, OpKind::kWrite);
  Event& ev = r.ev();
  DescribeFd(ev, fd, s, true);
  ev.h.length = requested;
  ev.h.oflags = s->oflags;
  // pwritev2's RWF_* flags (RWF_DSYNC, RWF_SYNC make this one write durable).
  if (c.nr == SYS_pwritev2) ev.h.mode = static_cast<uint32_t>(c.a[5]);
  long raw;
  Call run = c;
  if (r.Begin(point, reduce)) {
    const Decision& d = r.decision();
    if (d.shorten) {
      uint64_t want = d.bytes == ~uint64_t{0} ? requested / 2 : d.bytes;
      if (want > requested) want = requested;
      if (vector) {
        uint64_t left = want;
        int n = 0;
        for (int i = 0; i < iovcnt && left > 0; ++i) {
          size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
          b->short_iov[n++] = {iov[i].iov_base, take};
          left -= take;
        }
        if (n == 0) b->short_iov[n++] = {nullptr, 0};
        run.a[1] = A(b->short_iov);
        run.a[2] = n;
      } else {
        run.a[2] = static_cast<long>(want);
      }
    }
    raw = Perform(run);
  } else {
    raw = -r.decision().err;
  }
  uint64_t moved = raw > 0 ? static_cast<uint64_t>(raw) : 0;
  if (positional && !append) {
    ev.h.offset = c.a[3];
  } else if (positional && append) {
    // pwrite on an O_APPEND file appends (Linux) without moving the offset.
    struct stat st;
    ev.h.offset = IsErr(Sys(SYS_fstat, fd, A(&st))) ? -1 : st.st_size - static_cast<long>(moved);
  } else {
    long pos = Sys(SYS_lseek, fd, 0, SEEK_CUR);
    ev.h.offset = IsErr(pos) ? -1 : pos - static_cast<long>(moved);
  }
  if (locked) UnlockPosition();
  RefreshShadows(ev.h.dev, ev.h.ino, ev.h.offset, moved);
  if (moved > kMaxRecordedData) {
    EmitGap("write too large to record its bytes", ev.path, ev.h.path_len, c.uc,
            trace::kGapScopeFile, ev.h.dev, ev.h.ino);
    moved = 0;
  }
  ev.h.data_len = static_cast<uint32_t>(moved);
  if (vector) {
    ev.data_iov = iov;
    ev.data_iov_count = iovcnt;
  } else {
    ev.data = reinterpret_cast<const void*>(c.a[1]);
  }
  Return(c, r.Finish(raw));
  return true;
}

// Moves the trace fd out of the way of a dup2/dup3 onto its number.
void MoveTraceFdFrom(long fd) {
  if (fd != g_rt.trace_fd) return;
  long moved = Sys(SYS_fcntl, g_rt.trace_fd, F_DUPFD_CLOEXEC, g_rt.trace_fd + 1);
  if (!IsErr(moved)) g_rt.trace_fd = static_cast<int>(moved);
}

bool Close(Call& c) {
  int fd = static_cast<int>(c.a[0]);
  if (fd == g_rt.trace_fd) {
    Return(c, 0);  // the recorder's own fd: the target never opened it
    return true;
  }
  uint32_t state = (fd >= 0 && fd < kMaxFds && g_rt.fds != nullptr && OwnsCaches())
                       ? g_rt.fds[fd].state
                       : kSlotUnknown;
  if (state != kSlotRegular && state != kSlotDirectory) {
    ForgetFd(fd);
    Pass(c);
    return true;
  }
  const FdSlot* s = LookupFd(fd);
  Recorded r(c, OpKind::kClose);
  DescribeFd(r.ev(), fd, s, false);
  long raw = r.Begin("posix/io/oc/close") ? Perform(c) : -r.decision().err;
  if (raw != -EBADF && !(r.ev().h.flags & trace::kFlagInjected)) ForgetFd(fd);
  Return(c, r.Finish(raw));
  return true;
}

bool CloseRange(Call& c) {
  unsigned first = static_cast<unsigned>(c.a[0]);
  unsigned last = static_cast<unsigned>(c.a[1]);
  unsigned flags = static_cast<unsigned>(c.a[2]);
  unsigned t = static_cast<unsigned>(g_rt.trace_fd);
  long raw;
  if (g_rt.trace_fd >= 0 && first <= t && t <= last) {
    raw = 0;
    if (first < t) raw = Sys(SYS_close_range, first, t - 1, flags);
    if (!IsErr(raw) && t < last) raw = Sys(SYS_close_range, t + 1, last, flags);
  } else {
    raw = Perform(c);
  }
  if (!IsErr(raw) && g_rt.fds != nullptr && OwnsCaches()) {
    for (int fd = static_cast<int>(first); fd < g_rt.fd_high && static_cast<unsigned>(fd) <= last;
         ++fd) {
      FdSlot* s = &g_rt.fds[fd];
      if (fd == g_rt.trace_fd || s->state == kSlotUnknown) continue;
      if (flags & CLOSE_RANGE_CLOEXEC) {
        s->oflags |= O_CLOEXEC;
        continue;
      }
      if (Recordable(s)) {
        Event ev = NewEvent(OpKind::kClose, SYS_close_range);
        DescribeFd(ev, fd, s, false);
        Emit(&ev, c.uc);
      }
      s->state = kSlotUnknown;
    }
  }
  Return(c, raw);
  return true;
}

// dup, dup2, dup3, fcntl(F_DUPFD*): from -> the result.
bool Dup(Call& c, int from, bool cloexec, const char* point) {
  const FdSlot* s = LookupFd(from);
  if (!Recordable(s)) {
    long raw = Perform(c);
    if (!IsErr(raw)) ForgetFd(static_cast<int>(raw));
    Return(c, raw);
    return true;
  }
  Recorded r(c, OpKind::kDup);
  DescribeFd(r.ev(), from, s, false);
  long raw = r.Begin(point) ? Perform(c) : -r.decision().err;
  if (!IsErr(raw)) CopyFd(from, static_cast<int>(raw), cloexec);
  r.ev().h.fd2 = IsErr(raw) ? -1 : static_cast<int32_t>(raw);
  Return(c, r.Finish(raw));
  return true;
}

bool Fcntl(Call& c) {
  int fd = static_cast<int>(c.a[0]);
  switch (c.a[1]) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      return Dup(c, fd, c.a[1] == F_DUPFD_CLOEXEC, "aftershock/io/fcntl");
    case F_SETFL: {
      long raw = Perform(c);
      if (!IsErr(raw)) {
        long fl = Sys(SYS_fcntl, fd, F_GETFL);
        if (!IsErr(fl)) SetFdFlags(fd, static_cast<uint32_t>(fl));
      }
      Return(c, raw);
      return true;
    }
    default:
      return false;
  }
}

bool Chdir(Call& c) {
  long raw = Perform(c);
  if (raw == 0) RefreshCwd();
  Return(c, raw);
  return true;
}

}  // namespace

bool HandleFdCall(Call& c) {
  const long* a = c.a;
  switch (c.nr) {
    case SYS_write:
      return Write(c, false, false, "posix/io/rw/write", "posix/io/rw/write/reduce");
    case SYS_pwrite64:
      return Write(c, true, false, "posix/io/rw/pwrite", "posix/io/rw/pwrite/reduce");
    case SYS_writev:
      return Write(c, false, true, "posix/io/rw/writev", "posix/io/rw/writev/reduce");
    case SYS_pwritev:
    case SYS_pwritev2:
      return Write(c, true, true, "posix/io/rw/pwritev", "posix/io/rw/pwritev/reduce");
    case SYS_ftruncate:
      return FdOp(c, OpKind::kTruncate, "posix/io/rw/ftruncate", true, false);
    case SYS_fallocate:
      return FdOp(c, OpKind::kFallocate, "aftershock/io/fallocate", true, false);
    case SYS_fchmod:
      return FdOp(c, OpKind::kChmod, "aftershock/io/fchmod", true, true);
    case SYS_fsync:
      return FdOp(c, OpKind::kFsync, "posix/io/sync/fsync", false, true);
    case SYS_fdatasync:
      return FdOp(c, OpKind::kFdatasync, "posix/io/sync/fdatasync", false, true);
    case SYS_sync_file_range:
      return FdOp(c, OpKind::kSyncFileRange, "linux/io/sync_file_range", false, false);
    case SYS_syncfs:
      return FdOp(c, OpKind::kSyncfs, "aftershock/io/syncfs", false, true);
    case SYS_sync: {
      Recorded r(c, OpKind::kSync);
      long raw = r.Begin("aftershock/io/sync") ? Perform(c) : -r.decision().err;
      Return(c, r.Finish(raw));
      return true;
    }
    case SYS_close:
      return Close(c);
    case SYS_close_range:
      return CloseRange(c);
    case SYS_dup:
      return Dup(c, static_cast<int>(a[0]), false, "aftershock/io/dup");
    case SYS_dup2:
    case SYS_dup3:
      if (a[0] == a[1]) return false;
      MoveTraceFdFrom(a[1]);
      return Dup(c, static_cast<int>(a[0]), c.nr == SYS_dup3 && (a[2] & O_CLOEXEC) != 0,
                 c.nr == SYS_dup2 ? "aftershock/io/dup2" : "aftershock/io/dup3");
    case SYS_fcntl:
      return Fcntl(c);
    case SYS_chdir:
    case SYS_fchdir:
      return Chdir(c);
    case SYS_copy_file_range:
    case SYS_sendfile:
    case SYS_splice:
      return HandleCopyCall(c);
    case SYS_ioctl:
      if (static_cast<unsigned long>(a[1]) == FICLONE ||
          static_cast<unsigned long>(a[1]) == FICLONERANGE ||
          static_cast<unsigned long>(a[1]) == FIDEDUPERANGE) {
        Return(c, -EOPNOTSUPP);
        return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace aftershock::inject
