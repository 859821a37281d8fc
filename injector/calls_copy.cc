// Writes that do not pass through the target's memory: copy_file_range,
// sendfile and splice into a regular file. The kernel moves the bytes, so
// the recorder performs the call as the target made it, then reads what
// landed back from the destination and records it as a write (sysno says
// which call; fd2 is the source). A writer in another process that changes
// the same bytes between the call and the read-back is not seen.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "injector/dispatch.h"
#include "injector/fd_table.h"
#include "injector/mappings.h"
#include "injector/raw.h"

namespace aftershock::inject {
namespace {

constexpr uint64_t kMaxReadBack = 512u << 20;

// Reads n bytes at off of the file fd names into a new anonymous mapping
// (the caller unmaps n bytes). Through a read-only re-open of
// /proc/self/fd/N: the target's fd may be write-only. nullptr on failure.
char* ReadBack(int fd, int64_t off, uint64_t n) {
  if (n > kMaxReadBack || off < 0) return nullptr;
  char proc[40] = "/proc/self/fd/";
  size_t len = 14;
  len += FormatU64(static_cast<uint64_t>(fd), proc + len);
  proc[len] = '\0';
  long rfd = Sys(SYS_openat, AT_FDCWD, A(proc), O_RDONLY | O_CLOEXEC);
  if (IsErr(rfd)) return nullptr;
  long m = Sys(SYS_mmap, 0, static_cast<long>(n), PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint64_t got = 0;
  while (!IsErr(m) && got < n) {
    long r = Sys(SYS_pread64, rfd, m + static_cast<long>(got), static_cast<long>(n - got),
                 off + static_cast<long>(got));
    if (r <= 0) break;
    got += static_cast<uint64_t>(r);
  }
  Sys(SYS_close, rfd);
  if (IsErr(m)) return nullptr;
  if (got < n) {
    Sys(SYS_munmap, m, static_cast<long>(n));
    return nullptr;
  }
  return reinterpret_cast<char*>(m);
}

// Where the bytes of this call land: *off_out when the call takes an
// offset, else the file position (read before the call).
int64_t StartOffset(int out_fd, const long* off_out) {
  if (off_out != nullptr) return *off_out;
  long pos = Sys(SYS_lseek, out_fd, 0, SEEK_CUR);
  return IsErr(pos) ? -1 : pos;
}

bool CopyInto(Call& c, int out_fd, int in_fd, const long* off_out, uint64_t requested,
              const char* point) {
  const FdSlot* s = LookupFd(out_fd);
  if (s->state != kSlotRegular) return false;
  const bool append = (s->oflags & O_APPEND) != 0;
  LockPosition();
  int64_t start = StartOffset(out_fd, off_out);
  Recorded r(c, trace::OpKind::kWrite);
  Event& ev = r.ev();
  DescribeFd(ev, out_fd, s, true);
  ev.h.fd2 = in_fd;
  ev.h.oflags = s->oflags;
  ev.h.length = requested;
  long raw = r.Begin(point) ? Perform(c) : -r.decision().err;
  const uint64_t moved = raw > 0 ? static_cast<uint64_t>(raw) : 0;
  if (append && moved > 0) {
    struct stat st;
    start = IsErr(Sys(SYS_fstat, out_fd, A(&st))) ? -1 : st.st_size - static_cast<long>(moved);
  }
  UnlockPosition();
  ev.h.offset = start;
  char* bytes = moved > 0 ? ReadBack(out_fd, start, moved) : nullptr;
  if (moved > 0 && bytes == nullptr) {
    EmitGap("in-kernel copy whose bytes could not be read back", ev.path, ev.h.path_len, c.uc,
            trace::kGapScopeFile, ev.h.dev, ev.h.ino);
  }
  RefreshShadows(ev.h.dev, ev.h.ino, start, moved);
  ev.data = bytes;
  ev.h.data_len = bytes != nullptr ? static_cast<uint32_t>(moved) : 0;
  Return(c, r.Finish(raw));
  if (bytes != nullptr) Sys(SYS_munmap, A(bytes), static_cast<long>(moved));
  return true;
}

}  // namespace

bool HandleCopyCall(Call& c) {
  const long* a = c.a;
  switch (c.nr) {
    case SYS_copy_file_range:  // (fd_in, off_in*, fd_out, off_out*, len, flags)
      return CopyInto(c, static_cast<int>(a[2]), static_cast<int>(a[0]),
                      reinterpret_cast<const long*>(a[3]), static_cast<uint64_t>(a[4]),
                      "aftershock/io/copy_file_range");
    case SYS_sendfile:  // (out_fd, in_fd, offset* (of in_fd), count): at out_fd's position
      return CopyInto(c, static_cast<int>(a[0]), static_cast<int>(a[1]), nullptr,
                      static_cast<uint64_t>(a[3]), "aftershock/io/sendfile");
    case SYS_splice:  // (fd_in, off_in*, fd_out, off_out*, len, flags)
      return CopyInto(c, static_cast<int>(a[2]), static_cast<int>(a[0]),
                      reinterpret_cast<const long*>(a[3]), static_cast<uint64_t>(a[4]),
                      "aftershock/io/splice");
    default:
      return false;
  }
}

}  // namespace aftershock::inject
