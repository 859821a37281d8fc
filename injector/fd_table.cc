#include "injector/fd_table.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "injector/raw.h"

namespace aftershock::inject {
namespace {

bool InTable(int fd) { return fd >= 0 && fd < kMaxFds && g_rt.fds != nullptr && OwnsCaches(); }

FdSlot* Scratch(bool second) {
  ThreadBuf* b = Buf();
  if (b == nullptr) return nullptr;
  return second ? &b->slot2 : &b->slot;
}

void Fill(FdSlot* s, int fd) {
  s->state = kSlotOther;
  s->path_len = 0;
  s->dev = s->ino = 0;
  s->mode = 0;
  s->oflags = 0;
  struct stat st;
  if (IsErr(Sys(SYS_fstat, fd, A(&st)))) return;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->mode = st.st_mode;
  long fl = Sys(SYS_fcntl, fd, F_GETFL);
  if (!IsErr(fl)) s->oflags = static_cast<uint32_t>(fl);
  char link[32] = "/proc/self/fd/";
  size_t n = 14;
  n += FormatU64(static_cast<uint64_t>(fd), link + n);
  link[n] = '\0';
  long len = Sys(SYS_readlink, A(link), A(s->path), sizeof s->path - 1);
  if (IsErr(len)) len = 0;
  s->path_len = static_cast<uint32_t>(len);
  s->path[len] = '\0';
  if (IsRecorderPath(s->path, s->path_len)) {
    s->state = kSlotIgnored;
  } else if (S_ISREG(st.st_mode) && len > 0 && s->path[0] == '/' &&
             !IsUnrecordedPath(s->path, s->path_len)) {
    s->state = kSlotRegular;
  } else if (S_ISDIR(st.st_mode)) {
    s->state = kSlotDirectory;
  }
}

}  // namespace

bool IsRecorderPath(const char* path, size_t len) {
  return (len == g_rt.trace_path_len && MemEq(path, g_rt.trace_path, len)) ||
         (len == g_rt.seq_path_len && MemEq(path, g_rt.seq_path, len));
}

bool IsUnrecordedPath(const char* path, size_t len) {
  return IsPseudoFilePath(path, len) || IsRecorderPath(path, len);
}

const FdSlot* LookupFd(int fd, bool second) {
  if (InTable(fd)) {
    FdSlot* s = &g_rt.fds[fd];
    if (s->state == kSlotUnknown) {
      Fill(s, fd);
      if (fd >= g_rt.fd_high) g_rt.fd_high = fd + 1;
    }
    return s;
  }
  FdSlot* s = Scratch(second);
  if (s == nullptr) {
    static FdSlot unknown;  // zeroed: kSlotUnknown, never recorded
    return &unknown;
  }
  if (fd < 0) {
    s->state = kSlotOther;
    s->path_len = 0;
    return s;
  }
  Fill(s, fd);
  return s;
}

const FdSlot* RememberOpen(int fd, const char* path, size_t len, uint32_t oflags) {
  FdSlot* s = InTable(fd) ? &g_rt.fds[fd] : Scratch(false);
  if (s == nullptr) return LookupFd(fd);
  struct stat st;
  s->state = kSlotOther;
  s->dev = s->ino = 0;
  s->mode = 0;
  if (!IsErr(Sys(SYS_fstat, fd, A(&st)))) {
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->mode = st.st_mode;
    if (S_ISREG(st.st_mode)) s->state = kSlotRegular;
    if (S_ISDIR(st.st_mode)) s->state = kSlotDirectory;
  }
  if (len >= sizeof s->path) len = sizeof s->path - 1;
  MemCopy(s->path, path, len);
  s->path[len] = '\0';
  s->path_len = static_cast<uint32_t>(len);
  s->oflags = oflags;
  if (IsRecorderPath(path, len)) s->state = kSlotIgnored;
  if (s->state == kSlotRegular && IsUnrecordedPath(path, len)) s->state = kSlotOther;
  if (InTable(fd) && fd >= g_rt.fd_high) g_rt.fd_high = fd + 1;
  return s;
}

void ForgetFd(int fd) {
  if (InTable(fd)) g_rt.fds[fd].state = kSlotUnknown;
}

void CopyFd(int from, int to, bool cloexec) {
  if (!InTable(to)) return;
  const FdSlot* src = LookupFd(from);
  FdSlot* dst = &g_rt.fds[to];
  if (src == dst) return;
  MemCopy(dst, src, sizeof(FdSlot) - sizeof dst->path + src->path_len + 1);
  dst->oflags = cloexec ? (src->oflags | O_CLOEXEC) : (src->oflags & ~uint32_t{O_CLOEXEC});
  if (to >= g_rt.fd_high) g_rt.fd_high = to + 1;
}

void SetFdFlags(int fd, uint32_t oflags) {
  if (InTable(fd) && g_rt.fds[fd].state != kSlotUnknown) g_rt.fds[fd].oflags = oflags;
}

void RenameInTable(const char* old_path, size_t old_len, const char* new_path, size_t new_len) {
  if (g_rt.fds == nullptr || !OwnsCaches()) return;
  for (int fd = 0; fd < g_rt.fd_high; ++fd) {
    FdSlot* s = &g_rt.fds[fd];
    if (s->state == kSlotUnknown || !PathIsUnder(s->path, s->path_len, old_path, old_len)) {
      continue;
    }
    size_t rest = s->path_len - old_len;
    if (new_len + rest >= sizeof s->path) {
      s->state = kSlotUnknown;  // too long to keep: look it up again
      continue;
    }
    ThreadBuf* b = Buf();
    if (b == nullptr) return;
    char* tail = b->scratch;
    MemCopy(tail, s->path + old_len, rest);
    MemCopy(s->path, new_path, new_len);
    MemCopy(s->path + new_len, tail, rest);
    s->path_len = static_cast<uint32_t>(new_len + rest);
    s->path[s->path_len] = '\0';
  }
}

}  // namespace aftershock::inject
