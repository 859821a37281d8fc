// The ptrace recorder's calls: at a call's seccomp stop, what it names is
// read from the tracee (registers, memory through process_vm_readv, its
// files through /proc/PID/fd) and the fault rules are consulted; at its
// exit stop, the result completes the record. The records are those the
// preloaded recorder writes for the same calls (calls_files.cc,
// calls_fd.cc, calls_copy.cc), with the same fault point names.
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "injector/paths.h"
#include "injector/ptrace_session.h"

namespace aftershock::inject {

const int kPtraceCalls[] = {
    SYS_open,        SYS_creat,     SYS_openat,
    SYS_openat2,     SYS_rename,    SYS_renameat,
    SYS_renameat2,   SYS_link,      SYS_linkat,
    SYS_unlink,      SYS_unlinkat,  SYS_rmdir,
    SYS_mkdir,       SYS_mkdirat,   SYS_mknod,
    SYS_mknodat,     SYS_symlink,   SYS_symlinkat,
    SYS_chmod,       SYS_fchmodat,  452 /* fchmodat2 */,
    SYS_truncate,    SYS_write,     SYS_pwrite64,
    SYS_writev,      SYS_pwritev,   SYS_pwritev2,
    SYS_ftruncate,   SYS_fallocate, SYS_fchmod,
    SYS_fsync,       SYS_fdatasync, SYS_sync_file_range,
    SYS_syncfs,      SYS_sync,      SYS_close,
    SYS_close_range, SYS_dup,       SYS_dup2,
    SYS_dup3,        SYS_fcntl,     SYS_copy_file_range,
    SYS_sendfile,    SYS_splice,    SYS_io_uring_setup,
    SYS_exit_group,
};
const size_t kPtraceCallCount = sizeof kPtraceCalls / sizeof kPtraceCalls[0];

namespace {

using trace::OpKind;

constexpr uint64_t kMaxRecordedData = 512u << 20;

enum class FdKind { kNone, kRegular, kDirectory, kOther };

// What /proc says about one fd of a tracee: the file it names.
struct FdView {
  FdKind kind = FdKind::kNone;
  std::string path;
  uint64_t dev = 0, ino = 0;
  uint32_t mode = 0;
};

// Its open file's state (/proc/PID/fdinfo/N), read only by the calls that
// need it: the open flags and the file position.
struct FdInfo {
  uint32_t flags = 0;
  long pos = -1;
};

std::string ProcFd(pid_t pid, int fd) {
  return "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
}

std::string ReadLink(const std::string& link) {
  char buf[kPathCap];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (s.size() > deleted.size() &&
      s.compare(s.size() - deleted.size(), deleted.size(), deleted) == 0) {
    s.resize(s.size() - deleted.size());
  }
  return s;
}

bool Unrecorded(const PtraceSession& s, const std::string& p) {
  return IsPseudoFilePath(p.data(), p.size()) || s.IsRecorderPath(p);
}

FdView LookFd(const PtraceSession& s, pid_t pid, int fd) {
  FdView v;
  struct stat st;
  if (fd < 0 || ::stat(ProcFd(pid, fd).c_str(), &st) != 0) return v;
  v.dev = st.st_dev;
  v.ino = st.st_ino;
  v.mode = st.st_mode;
  v.path = ReadLink(ProcFd(pid, fd));
  v.kind = S_ISREG(st.st_mode)   ? FdKind::kRegular
           : S_ISDIR(st.st_mode) ? FdKind::kDirectory
                                 : FdKind::kOther;
  if (v.path.empty() || v.path[0] != '/' || Unrecorded(s, v.path)) v.kind = FdKind::kOther;
  return v;
}

FdInfo ReadFdInfo(pid_t pid, int fd) {
  FdInfo v;
  std::ifstream info("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
  std::string key;
  while (info >> key) {
    if (key == "pos:") {
      info >> v.pos;
    } else if (key == "flags:") {
      info >> std::oct >> v.flags >> std::dec;
    }
  }
  return v;
}

bool Recordable(const FdView& v) {
  return v.kind == FdKind::kRegular || v.kind == FdKind::kDirectory;
}

bool ReadMem(pid_t pid, uint64_t addr, size_t len, std::string* out) {
  out->resize(len);
  if (len == 0) return true;
  struct iovec local = {out->data(), len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n < 0) n = 0;
  out->resize(static_cast<size_t>(n));
  return static_cast<size_t>(n) == len;
}

bool WriteMem(pid_t pid, uint64_t addr, const void* data, size_t len) {
  struct iovec local = {const_cast<void*>(data), len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  return ::process_vm_writev(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

// A NUL-terminated string of the tracee (at most kPathCap bytes).
bool ReadString(pid_t pid, uint64_t addr, std::string* out) {
  out->clear();
  if (addr == 0) return false;
  std::string chunk;
  while (out->size() < kPathCap) {
    // Never across a page boundary: the next page may not be mapped.
    size_t room = 4096 - (addr % 4096);
    ReadMem(pid, addr, room, &chunk);
    if (chunk.empty()) return false;
    size_t nul = chunk.find('\0');
    out->append(chunk, 0, nul == std::string::npos ? chunk.size() : nul);
    if (nul != std::string::npos) return true;
    addr += chunk.size();
  }
  return false;
}

// The absolute, lexically normalised path of `user` relative to dirfd (as
// ResolveAt in the preloaded recorder). Empty when it cannot be resolved.
std::string Resolve(const Tracee& t, int dirfd, const std::string& user) {
  std::string base = "/";
  if (user.empty() || user[0] != '/') {
    base = dirfd == AT_FDCWD ? ReadLink("/proc/" + std::to_string(t.tid) + "/cwd")
                             : ReadLink(ProcFd(t.tgid, dirfd));
    if (base.empty() || base[0] != '/') return "";
  }
  std::string out(kPathCap, '\0');
  size_t n =
      ResolvePath(base.data(), base.size(), user.data(), user.size(), out.data(), out.size());
  out.resize(n);
  return out;
}

std::string ResolveArg(const Tracee& t, int dirfd, long addr) {
  std::string user;
  if (!ReadString(t.tid, static_cast<uint64_t>(addr), &user)) return "";
  return Resolve(t, dirfd, user);
}

// Makes the stopped call return raw without running it.
void Skip(const Tracee& t, user_regs_struct& regs, long raw) {
  regs.orig_rax = static_cast<unsigned long long>(-1);
  regs.rax = static_cast<unsigned long long>(raw);
  ::ptrace(PTRACE_SETREGS, t.tid, nullptr, &regs);
}

PtraceEvent NewEvent(OpKind kind, long nr) {
  PtraceEvent ev;
  ev.h.kind = static_cast<uint16_t>(kind);
  ev.h.sysno = static_cast<int32_t>(nr);
  ev.h.fd = ev.h.fd2 = -1;
  return ev;
}

// The frame of every recorded call (Recorded::Begin): pause rules, the
// seq, the fault decision. Returns true iff the call is to run and its
// record be finished at its exit stop (then t.call is active).
bool Begin(PtraceSession& s, Tracee& t, user_regs_struct& regs, const char* point,
           const char* reduce, bool* killed) {
  PendingCall& c = t.call;
  s.BeforeSeq(point, t.tgid);
  c.ev.h.seq = s.NextSeq();
  c.d = s.Decide(c.ev.h.seq, point, reduce);
  if (c.d.kill_before) {
    c.ev.h.flags |= trace::kFlagKilled | trace::kFlagNotPerformed | trace::kFlagInjected;
    c.ev.h.result = -1;
    s.Emit(&c.ev, t, &regs);
    ::kill(t.tgid, SIGKILL);
    *killed = true;
    return false;
  }
  if (c.d.err != 0) {
    c.ev.h.flags |= trace::kFlagInjected;
    trace::SetRawResult(&c.ev.h, -c.d.err);
    s.Emit(&c.ev, t, &regs);
    Skip(t, regs, -c.d.err);
    return false;
  }
  if (c.d.shorten) c.ev.h.flags |= trace::kFlagInjected | trace::kFlagShort;
  c.active = true;
  return true;
}

void Describe(const PtraceSession& s, PtraceEvent* ev, int fd, const FdView& v, bool mutation) {
  ev->h.fd = fd;
  ev->h.dev = v.dev;
  ev->h.ino = v.ino;
  if (v.kind == FdKind::kDirectory) ev->h.flags |= trace::kFlagDirectory;
  ev->path = v.path;
  if (mutation && s.IsEscape(v.path)) ev->h.flags |= trace::kFlagEscape;
}

bool EnterOpen(PtraceSession& s, Tracee& t, user_regs_struct& regs, int dirfd, long user,
               long flags, long mode, const char* point, bool* killed) {
  bool tmpfile = (flags & __O_TMPFILE) == __O_TMPFILE;
  bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0 || tmpfile;
  if ((!writes && !s.HasRoot()) || (flags & O_PATH) != 0) return false;
  std::string path = ResolveArg(t, dirfd, user);
  if (path.empty() || Unrecorded(s, path) || (!writes && !s.IsUnderRoot(path))) return false;
  bool existed = true;
  if ((flags & O_CREAT) != 0 && (flags & O_EXCL) == 0) existed = ::access(path.c_str(), F_OK) == 0;
  PendingCall& c = t.call;
  c.ev = NewEvent(OpKind::kOpen, c.nr);
  c.ev.path = path;
  c.ev.h.fd2 = dirfd;
  c.ev.h.oflags = static_cast<uint32_t>(flags);
  c.ev.h.mode = static_cast<uint32_t>(mode & 07777);
  if (tmpfile || ((flags & O_CREAT) != 0 && ((flags & O_EXCL) != 0 || !existed))) {
    c.ev.h.flags |= trace::kFlagCreated;  // kept only if it succeeds (ExitOpen)
  }
  if (s.IsEscape(path)) c.ev.h.flags |= trace::kFlagEscape;
  return Begin(s, t, regs, point, nullptr, killed);
}

// A call on one or two paths (PathOp in calls_files.cc).
// oflags and length go into the record before Begin: an injected error's
// record carries them too.
bool EnterPath(PtraceSession& s, Tracee& t, user_regs_struct& regs, OpKind kind, int dirfd, long p1,
               int dirfd2, long p2, const char* point, bool* killed, uint32_t oflags = 0,
               uint64_t length = 0) {
  std::string path = ResolveArg(t, dirfd, p1);
  if (path.empty()) return false;
  std::string path2;
  if (p2 != 0) {
    path2 = ResolveArg(t, dirfd2, p2);
    if (path2.empty()) return false;
  }
  if (Unrecorded(s, path) && (path2.empty() || Unrecorded(s, path2))) return false;
  if (kind == OpKind::kUnlink || kind == OpKind::kChmod) {
    struct stat st;  // a socket's name is no file data (calls_files.cc, IsSocket)
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return false;
  }
  PendingCall& c = t.call;
  c.ev = NewEvent(kind, c.nr);
  c.ev.path = path;
  c.ev.path2 = path2;
  c.ev.h.fd2 = dirfd;
  c.ev.h.oflags = oflags;
  c.ev.h.length = length;
  if (s.IsEscape(path) || (!path2.empty() && s.IsEscape(path2))) {
    c.ev.h.flags |= trace::kFlagEscape;
  }
  return Begin(s, t, regs, point, nullptr, killed);
}

bool EnterPathCall(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  const long* a = t.call.a;
  const int cwd = AT_FDCWD;
  auto fd = [](long v) { return static_cast<int>(v); };
  auto u32 = [](long v) { return static_cast<uint32_t>(v); };
  switch (t.call.nr) {
    case SYS_rename:
      return EnterPath(s, t, regs, OpKind::kRename, cwd, a[0], cwd, a[1], "posix/io/dir/rename",
                       killed);
    case SYS_renameat:
      return EnterPath(s, t, regs, OpKind::kRename, fd(a[0]), a[1], fd(a[2]), a[3],
                       "aftershock/io/renameat", killed);
    case SYS_renameat2:
      return EnterPath(s, t, regs, OpKind::kRename, fd(a[0]), a[1], fd(a[2]), a[3],
                       "aftershock/io/renameat2", killed, u32(a[4]));
    case SYS_unlink:
      return EnterPath(s, t, regs, OpKind::kUnlink, cwd, a[0], cwd, 0, "posix/io/dir/unlink",
                       killed);
    case SYS_unlinkat:
      return EnterPath(s, t, regs, (a[2] & AT_REMOVEDIR) ? OpKind::kRmdir : OpKind::kUnlink,
                       fd(a[0]), a[1], cwd, 0, "aftershock/io/unlinkat", killed, u32(a[2]));
    case SYS_rmdir:
      return EnterPath(s, t, regs, OpKind::kRmdir, cwd, a[0], cwd, 0, "aftershock/io/rmdir",
                       killed);
    case SYS_truncate:
      return EnterPath(s, t, regs, OpKind::kTruncate, cwd, a[0], cwd, 0, "posix/io/rw/truncate",
                       killed, 0, static_cast<uint64_t>(a[1]));
    default:
      return false;
  }
}

// Calls that make a name with a mode or a target (mkdir, mknod, symlink,
// chmod). The mode or target is set before Begin: a record emitted there
// (an injected error) carries it.
bool EnterMakeCall(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  const long* a = t.call.a;
  const int cwd = AT_FDCWD;
  auto fd = [](long v) { return static_cast<int>(v); };
  PendingCall& c = t.call;
  struct Shape {
    OpKind kind;
    int dirfd;
    long path;
    long mode;
    long target;
    const char* point;
  } x{};
  switch (c.nr) {
    case SYS_mkdir:
      x = {OpKind::kMkdir, cwd, a[0], a[1], 0, "aftershock/io/mkdir"};
      break;
    case SYS_mkdirat:
      x = {OpKind::kMkdir, fd(a[0]), a[1], a[2], 0, "aftershock/io/mkdirat"};
      break;
    case SYS_mknod:
      x = {OpKind::kMknod, cwd, a[0], a[1], 0, "aftershock/io/mknod"};
      break;
    case SYS_mknodat:
      x = {OpKind::kMknod, fd(a[0]), a[1], a[2], 0, "aftershock/io/mknodat"};
      break;
    case SYS_symlink:
      x = {OpKind::kSymlink, cwd, a[1], 0, a[0], "aftershock/io/symlink"};
      break;
    case SYS_symlinkat:
      x = {OpKind::kSymlink, fd(a[1]), a[2], 0, a[0], "aftershock/io/symlinkat"};
      break;
    case SYS_chmod:
      x = {OpKind::kChmod, cwd, a[0], a[1], 0, "aftershock/io/chmod"};
      break;
    case SYS_fchmodat:
      x = {OpKind::kChmod, fd(a[0]), a[1], a[2], 0, "aftershock/io/fchmodat"};
      break;
    case 452:
      x = {OpKind::kChmod, fd(a[0]), a[1], a[2], 0, "aftershock/io/fchmodat2"};
      break;
    default:
      return false;
  }
  c.ev = NewEvent(x.kind, c.nr);
  std::string target;
  if (x.target != 0 && !ReadString(t.tid, static_cast<uint64_t>(x.target), &target)) return false;
  std::string path = ResolveArg(t, x.dirfd, x.path);
  if (path.empty() || Unrecorded(s, path)) return false;
  if (x.kind == OpKind::kChmod) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return false;
  }
  c.ev.path = path;
  c.ev.data = target;
  c.ev.h.fd2 = x.dirfd;
  c.ev.h.mode = static_cast<uint32_t>(x.mode);
  if (c.nr == 452) c.ev.h.oflags = static_cast<uint32_t>(a[3]);
  if (s.IsEscape(path)) c.ev.h.flags |= trace::kFlagEscape;
  return Begin(s, t, regs, x.point, nullptr, killed);
}

bool EnterLink(PtraceSession& s, Tracee& t, user_regs_struct& regs, int olddir, long oldp,
               int newdir, long newp, int flags, const char* point, bool* killed) {
  std::string old_user;
  ReadString(t.tid, static_cast<uint64_t>(oldp), &old_user);
  int src_fd = -1;
  if ((flags & AT_EMPTY_PATH) != 0 && old_user.empty()) src_fd = olddir;
  if (old_user.rfind("/proc/self/fd/", 0) == 0) src_fd = std::atoi(old_user.c_str() + 14);
  if (src_fd < 0) {
    return EnterPath(s, t, regs, OpKind::kLink, olddir, oldp, newdir, newp, point, killed,
                     static_cast<uint32_t>(flags));
  }
  std::string path2 = ResolveArg(t, newdir, newp);
  if (path2.empty()) return false;
  FdView v = LookFd(s, t.tgid, src_fd);
  PendingCall& c = t.call;
  c.ev = NewEvent(OpKind::kLink, c.nr);
  c.ev.path2 = path2;
  c.ev.h.fd = src_fd;
  c.ev.h.fd2 = newdir;
  c.ev.h.dev = v.dev;
  c.ev.h.ino = v.ino;
  c.ev.h.oflags = static_cast<uint32_t>(flags);
  if (s.IsEscape(path2)) c.ev.h.flags |= trace::kFlagEscape;
  return Begin(s, t, regs, point, nullptr, killed);
}

// A recorded call on one fd (FdOp in calls_fd.cc).
bool EnterFdOp(PtraceSession& s, Tracee& t, user_regs_struct& regs, OpKind kind, const char* point,
               bool mutation, bool dirs_too, bool* killed) {
  PendingCall& c = t.call;
  int fd = static_cast<int>(c.a[0]);
  FdView v = LookFd(s, t.tgid, fd);
  if (!(v.kind == FdKind::kRegular || (dirs_too && v.kind == FdKind::kDirectory))) return false;
  c.ev = NewEvent(kind, c.nr);
  Describe(s, &c.ev, fd, v, mutation);
  switch (kind) {
    case OpKind::kTruncate:
      c.ev.h.length = static_cast<uint64_t>(c.a[1]);
      break;
    case OpKind::kChmod:
      c.ev.h.mode = static_cast<uint32_t>(c.a[1]);
      break;
    case OpKind::kFallocate:
      c.ev.h.oflags = static_cast<uint32_t>(c.a[1]);
      c.ev.h.offset = c.a[2];
      c.ev.h.length = static_cast<uint64_t>(c.a[3]);
      break;
    case OpKind::kSyncFileRange:
      c.ev.h.offset = c.a[1];
      c.ev.h.length = static_cast<uint64_t>(c.a[2]);
      c.ev.h.oflags = static_cast<uint32_t>(c.a[3]);
      break;
    default:
      break;
  }
  return Begin(s, t, regs, point, nullptr, killed);
}

// A short write: fewer bytes than asked. For the vectored calls the
// tracee's own iovec array is cut for the call and put back at its exit.
void Shorten(Tracee& t, user_regs_struct& regs, uint64_t requested) {
  PendingCall& c = t.call;
  uint64_t want = c.d.bytes == ~uint64_t{0} ? requested / 2 : c.d.bytes;
  if (want > requested) want = requested;
  if (!c.vector) {
    regs.rdx = want;
    ::ptrace(PTRACE_SETREGS, t.tid, nullptr, &regs);
    return;
  }
  std::string iov;
  size_t count = static_cast<size_t>(c.a[2]);
  if (!ReadMem(t.tid, static_cast<uint64_t>(c.a[1]), count * sizeof(struct iovec), &iov)) return;
  c.ev.data = iov;  // the original array, put back by ExitWrite
  auto* v = reinterpret_cast<struct iovec*>(iov.data());
  size_t n = 0;
  for (uint64_t left = want; n < count && left > 0; ++n) {
    if (v[n].iov_len > left) v[n].iov_len = left;
    left -= v[n].iov_len;
  }
  WriteMem(t.tid, static_cast<uint64_t>(c.a[1]), iov.data(), n * sizeof(struct iovec));
  regs.rdx = n;
  ::ptrace(PTRACE_SETREGS, t.tid, nullptr, &regs);
}

bool EnterWrite(PtraceSession& s, Tracee& t, user_regs_struct& regs, const char* point,
                const char* reduce, bool* killed) {
  PendingCall& c = t.call;
  int fd = static_cast<int>(c.a[0]);
  FdView v = LookFd(s, t.tgid, fd);
  if (v.kind != FdKind::kRegular) return false;
  c.vector = c.nr == SYS_writev || c.nr == SYS_pwritev || c.nr == SYS_pwritev2;
  c.positional =
      c.nr == SYS_pwrite64 || c.nr == SYS_pwritev || (c.nr == SYS_pwritev2 && c.a[3] != -1);
  uint64_t requested = static_cast<uint64_t>(c.a[2]);
  if (c.vector) {
    std::string iov;
    size_t count = static_cast<size_t>(c.a[2]);
    if (count > 1024 || !ReadMem(t.tid, static_cast<uint64_t>(c.a[1]), count * 16, &iov))
      return false;
    requested = 0;
    for (size_t i = 0; i < count; ++i)
      requested += reinterpret_cast<struct iovec*>(iov.data())[i].iov_len;
  }
  const uint32_t flags = ReadFdInfo(t.tgid, fd).flags;
  c.append = (flags & O_APPEND) != 0 || (c.nr == SYS_pwritev2 && (c.a[5] & RWF_APPEND));
  c.ev = NewEvent(OpKind::kWrite, c.nr);
  Describe(s, &c.ev, fd, v, true);
  c.ev.h.length = requested;
  c.ev.h.oflags = flags;
  if (c.nr == SYS_pwritev2) c.ev.h.mode = static_cast<uint32_t>(c.a[5]);
  if (!Begin(s, t, regs, point, reduce, killed)) return false;
  if (c.d.shorten) Shorten(t, regs, requested);
  return true;
}

// The bytes a write moved, from the tracee's buffers.
std::string WrittenBytes(const Tracee& t, uint64_t moved) {
  const PendingCall& c = t.call;
  std::string data;
  if (!c.vector) {
    ReadMem(t.tid, static_cast<uint64_t>(c.a[1]), moved, &data);
    return data;
  }
  std::string iov;
  size_t count = static_cast<size_t>(c.a[2]);
  ReadMem(t.tid, static_cast<uint64_t>(c.a[1]), count * sizeof(struct iovec), &iov);
  if (c.d.shorten && c.ev.data.size() == iov.size()) iov = c.ev.data;  // the original array
  const auto* v = reinterpret_cast<const struct iovec*>(iov.data());
  std::string part;
  for (size_t i = 0; i < iov.size() / sizeof(struct iovec) && data.size() < moved; ++i) {
    size_t take = std::min<uint64_t>(v[i].iov_len, moved - data.size());
    ReadMem(t.tid, reinterpret_cast<uint64_t>(v[i].iov_base), take, &part);
    data += part;
    if (part.size() < take) break;
  }
  return data;
}

void ExitWrite(PtraceSession& s, Tracee& t, const user_regs_struct& regs, long raw) {
  PendingCall& c = t.call;
  if (c.vector && c.d.shorten && !c.ev.data.empty()) {
    WriteMem(t.tid, static_cast<uint64_t>(c.a[1]), c.ev.data.data(), c.ev.data.size());
  }
  uint64_t moved = raw > 0 ? static_cast<uint64_t>(raw) : 0;
  int fd = static_cast<int>(c.a[0]);
  if (c.positional && !c.append) {
    c.ev.h.offset = c.a[3];
  } else if (c.positional) {
    struct stat st;  // pwrite on an O_APPEND file appends without moving the offset
    c.ev.h.offset =
        ::stat(ProcFd(t.tgid, fd).c_str(), &st) != 0 ? -1 : st.st_size - static_cast<long>(moved);
  } else {
    long pos = ReadFdInfo(t.tgid, fd).pos;
    c.ev.h.offset = pos < 0 ? -1 : pos - static_cast<long>(moved);
  }
  if (moved > kMaxRecordedData) {
    s.EmitGap(t, "write too large to record its bytes", c.ev.path, trace::kGapScopeFile, &regs);
    moved = 0;
  }
  c.ev.data = WrittenBytes(t, moved);
}

bool EnterClose(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  PendingCall& c = t.call;
  int fd = static_cast<int>(c.a[0]);
  FdView v = LookFd(s, t.tgid, fd);
  if (!Recordable(v)) return false;
  c.ev = NewEvent(OpKind::kClose, c.nr);
  Describe(s, &c.ev, fd, v, false);
  return Begin(s, t, regs, "posix/io/oc/close", nullptr, killed);
}

// close_range: a kClose record for every recorded fd it closed.
bool EnterCloseRange(PtraceSession& s, Tracee& t) {
  PendingCall& c = t.call;
  unsigned first = static_cast<unsigned>(c.a[0]);
  unsigned last = static_cast<unsigned>(c.a[1]);
  if ((c.a[2] & CLOSE_RANGE_CLOEXEC) != 0) return false;
  c.closing.clear();
  std::string dir = "/proc/" + std::to_string(t.tgid) + "/fd/";
  for (unsigned fd = first; fd <= last && fd < 65536; ++fd) {
    if (::access((dir + std::to_string(fd)).c_str(), F_OK) != 0) {
      if (fd > 4096) break;
      continue;
    }
    FdView v = LookFd(s, t.tgid, static_cast<int>(fd));
    if (!Recordable(v)) continue;
    PtraceEvent ev = NewEvent(OpKind::kClose, c.nr);
    Describe(s, &ev, static_cast<int>(fd), v, false);
    c.closing.push_back(std::move(ev));
  }
  if (c.closing.empty()) return false;
  c.ev = NewEvent(OpKind::kClose, c.nr);
  c.active = true;
  return true;
}

bool EnterDup(PtraceSession& s, Tracee& t, user_regs_struct& regs, int from, const char* point,
              bool* killed) {
  PendingCall& c = t.call;
  FdView v = LookFd(s, t.tgid, from);
  if (!Recordable(v)) return false;
  c.ev = NewEvent(OpKind::kDup, c.nr);
  Describe(s, &c.ev, from, v, false);
  return Begin(s, t, regs, point, nullptr, killed);
}

// copy_file_range, sendfile, splice into a regular file: made as asked,
// then what landed is read back from the destination (calls_copy.cc).
bool EnterCopy(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  PendingCall& c = t.call;
  const char* point = "aftershock/io/splice";
  long off_ptr = c.a[3];
  c.out_fd = static_cast<int>(c.a[2]);
  if (c.nr == SYS_copy_file_range) point = "aftershock/io/copy_file_range";
  if (c.nr == SYS_sendfile) {
    point = "aftershock/io/sendfile";
    c.out_fd = static_cast<int>(c.a[0]);
    off_ptr = 0;
  }
  FdView v = LookFd(s, t.tgid, c.out_fd);
  if (v.kind != FdKind::kRegular) return false;
  c.copy_offset = -1;
  std::string off;
  if (off_ptr != 0 && ReadMem(t.tid, static_cast<uint64_t>(off_ptr), 8, &off)) {
    std::memcpy(&c.copy_offset, off.data(), 8);
  }
  c.append = (ReadFdInfo(t.tgid, c.out_fd).flags & O_APPEND) != 0;
  c.ev = NewEvent(OpKind::kWrite, c.nr);
  Describe(s, &c.ev, c.out_fd, v, true);
  c.ev.h.fd2 = static_cast<int32_t>(c.nr == SYS_sendfile ? c.a[1] : c.a[0]);
  c.ev.h.length = static_cast<uint64_t>(c.nr == SYS_sendfile ? c.a[3] : c.a[4]);
  return Begin(s, t, regs, point, nullptr, killed);
}

void ExitCopy(PtraceSession& s, Tracee& t, const user_regs_struct& regs, long raw) {
  PendingCall& c = t.call;
  if (raw <= 0) return;
  long offset = c.copy_offset;
  if (offset < 0 || c.append) {
    struct stat st;
    offset = c.append ? (::stat(ProcFd(t.tgid, c.out_fd).c_str(), &st) == 0 ? st.st_size - raw : -1)
                      : ReadFdInfo(t.tgid, c.out_fd).pos - raw;
  }
  c.ev.h.offset = offset;
  int fd = ::open(ProcFd(t.tgid, c.out_fd).c_str(), O_RDONLY | O_CLOEXEC);
  std::string data(static_cast<size_t>(raw), '\0');
  ssize_t n = fd >= 0 && offset >= 0 ? ::pread(fd, data.data(), data.size(), offset) : -1;
  if (fd >= 0) ::close(fd);
  if (n != raw) {
    s.EmitGap(t, "the bytes an in-kernel copy wrote could not be read back", c.ev.path,
              trace::kGapScopeFile, &regs);
    data.clear();
  }
  c.ev.data = data;
}

bool EnterFdCall(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  PendingCall& c = t.call;
  switch (c.nr) {
    case SYS_write:
      return EnterWrite(s, t, regs, "posix/io/rw/write", "posix/io/rw/write/reduce", killed);
    case SYS_pwrite64:
      return EnterWrite(s, t, regs, "posix/io/rw/pwrite", "posix/io/rw/pwrite/reduce", killed);
    case SYS_writev:
      return EnterWrite(s, t, regs, "posix/io/rw/writev", "posix/io/rw/writev/reduce", killed);
    case SYS_pwritev:
    case SYS_pwritev2:
      return EnterWrite(s, t, regs, "posix/io/rw/pwritev", "posix/io/rw/pwritev/reduce", killed);
    case SYS_ftruncate:
      return EnterFdOp(s, t, regs, OpKind::kTruncate, "posix/io/rw/ftruncate", true, false, killed);
    case SYS_fallocate:
      return EnterFdOp(s, t, regs, OpKind::kFallocate, "aftershock/io/fallocate", true, false,
                       killed);
    case SYS_fchmod:
      return EnterFdOp(s, t, regs, OpKind::kChmod, "aftershock/io/fchmod", true, true, killed);
    case SYS_fsync:
      return EnterFdOp(s, t, regs, OpKind::kFsync, "posix/io/sync/fsync", false, true, killed);
    case SYS_fdatasync:
      return EnterFdOp(s, t, regs, OpKind::kFdatasync, "posix/io/sync/fdatasync", false, true,
                       killed);
    case SYS_sync_file_range:
      return EnterFdOp(s, t, regs, OpKind::kSyncFileRange, "linux/io/sync_file_range", false, false,
                       killed);
    case SYS_syncfs:
      return EnterFdOp(s, t, regs, OpKind::kSyncfs, "aftershock/io/syncfs", false, true, killed);
    case SYS_sync:
      c.ev = NewEvent(OpKind::kSync, c.nr);
      return Begin(s, t, regs, "aftershock/io/sync", nullptr, killed);
    case SYS_close:
      return EnterClose(s, t, regs, killed);
    case SYS_close_range:
      return EnterCloseRange(s, t);
    case SYS_dup:
      return EnterDup(s, t, regs, static_cast<int>(c.a[0]), "aftershock/io/dup", killed);
    case SYS_dup2:
    case SYS_dup3:
      return EnterDup(s, t, regs, static_cast<int>(c.a[0]),
                      c.nr == SYS_dup2 ? "aftershock/io/dup2" : "aftershock/io/dup3", killed);
    case SYS_fcntl:
      if (c.a[1] != F_DUPFD && c.a[1] != F_DUPFD_CLOEXEC) return false;
      return EnterDup(s, t, regs, static_cast<int>(c.a[0]), "aftershock/io/fcntl", killed);
    case SYS_copy_file_range:
    case SYS_sendfile:
    case SYS_splice:
      return EnterCopy(s, t, regs, killed);
    default:
      return false;
  }
}

bool EnterFileCall(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  const long* a = t.call.a;
  auto fd = [](long v) { return static_cast<int>(v); };
  switch (t.call.nr) {
    case SYS_open:
      return EnterOpen(s, t, regs, AT_FDCWD, a[0], a[1], a[2], "posix/io/oc/open", killed);
    case SYS_creat:
      return EnterOpen(s, t, regs, AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1],
                       "aftershock/io/creat", killed);
    case SYS_openat:
      return EnterOpen(s, t, regs, fd(a[0]), a[1], a[2], a[3], "aftershock/io/openat", killed);
    case SYS_openat2: {
      std::string how;
      if (!ReadMem(t.tid, static_cast<uint64_t>(a[2]), sizeof(struct open_how), &how)) return false;
      const auto* h = reinterpret_cast<const struct open_how*>(how.data());
      return EnterOpen(s, t, regs, fd(a[0]), a[1], static_cast<long>(h->flags),
                       static_cast<long>(h->mode), "aftershock/io/openat2", killed);
    }
    case SYS_link:
      return EnterLink(s, t, regs, AT_FDCWD, a[0], AT_FDCWD, a[1], 0, "aftershock/io/link", killed);
    case SYS_linkat:
      return EnterLink(s, t, regs, fd(a[0]), a[1], fd(a[2]), a[3], fd(a[4]), "aftershock/io/linkat",
                       killed);
    default:
      return EnterPathCall(s, t, regs, killed) || EnterMakeCall(s, t, regs, killed);
  }
}

void ExitOpen(PtraceSession& s, Tracee& t, long raw, bool* keep) {
  PendingCall& c = t.call;
  if (raw < 0) {
    c.ev.h.flags &= static_cast<uint16_t>(~trace::kFlagCreated);
    return;
  }
  FdView v = LookFd(s, t.tgid, static_cast<int>(raw));
  if (!Recordable(v)) {
    *keep = false;  // a device, fifo or socket: not a file-system mutation
    return;
  }
  c.ev.h.dev = v.dev;
  c.ev.h.ino = v.ino;
  c.ev.h.mode = v.mode & (S_IFMT | 07777);
  if (v.kind == FdKind::kDirectory) c.ev.h.flags |= trace::kFlagDirectory;
  c.ev.h.fd = static_cast<int32_t>(raw);
}

// A shared writable mapping of a regular file (the filter stops no other
// mmap): its stores are not seen here (docs/injector.md).
void EnterMmap(PtraceSession& s, Tracee& t, const user_regs_struct& regs) {
  FdView v = LookFd(s, t.tgid, static_cast<int>(t.call.a[4]));
  if (v.kind != FdKind::kRegular) return;
  PtraceEvent ev = NewEvent(OpKind::kGap, -1);
  ev.h.mode = trace::kGapScopeFile;
  ev.h.dev = v.dev;
  ev.h.ino = v.ino;
  ev.path = v.path;
  ev.data = "shared writable mapping: the ptrace recorder does not see its stores";
  s.Emit(&ev, t, &regs);
}

}  // namespace

bool EnterCall(PtraceSession& s, Tracee& t, user_regs_struct& regs, bool* killed) {
  PendingCall& c = t.call;
  c = PendingCall{};
  c.nr = static_cast<long>(regs.orig_rax);
  const unsigned long long args[6] = {regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9};
  for (int i = 0; i < 6; ++i) c.a[i] = static_cast<long>(args[i]);
  switch (c.nr) {
    case SYS_io_uring_setup:
      // Its submissions would bypass every call here (calls_process.cc).
      s.EmitGap(t, "io_uring_setup refused (ENOSYS): its requests would bypass the recorder", "",
                trace::kGapScopeNone, &regs);
      Skip(t, regs, -ENOSYS);
      return false;
    case SYS_mmap:
      EnterMmap(s, t, regs);
      return false;
    case SYS_ioctl:  // FICLONE, FICLONERANGE, FIDEDUPERANGE (the filter lets no other through)
      Skip(t, regs, -EOPNOTSUPP);
      return false;
    case SYS_exit_group: {
      PtraceEvent ev = NewEvent(OpKind::kExit, c.nr);
      ev.h.result = c.a[0];
      s.Emit(&ev, t, nullptr);
      return false;
    }
    default:
      return EnterFileCall(s, t, regs, killed) || EnterFdCall(s, t, regs, killed);
  }
}

bool ExitCall(PtraceSession& s, Tracee& t, const user_regs_struct& regs) {
  PendingCall& c = t.call;
  c.active = false;
  long raw = static_cast<long>(regs.rax);
  if (raw <= -512 && raw >= -516) return true;  // interrupted: it is restarted, and stops again
  bool keep = true;
  switch (OpKind(c.ev.h.kind)) {
    case OpKind::kOpen:
      ExitOpen(s, t, raw, &keep);
      break;
    case OpKind::kWrite:
      if (c.out_fd >= 0) {
        ExitCopy(s, t, regs, raw);
      } else {
        ExitWrite(s, t, regs, raw);
      }
      break;
    case OpKind::kMkdir:
    case OpKind::kMknod: {
      struct stat st;
      if (raw == 0 && ::lstat(c.ev.path.c_str(), &st) == 0) {
        c.ev.h.mode = st.st_mode;
        c.ev.h.dev = st.st_dev;
        c.ev.h.ino = st.st_ino;
      }
      break;
    }
    case OpKind::kDup:
      c.ev.h.fd2 = raw < 0 ? -1 : static_cast<int32_t>(raw);
      break;
    case OpKind::kClose:
      if (c.nr == SYS_close_range) {
        for (PtraceEvent& ev : c.closing) {
          if (raw == 0) s.Emit(&ev, t, &regs);
        }
        return true;
      }
      break;
    default:
      break;
  }
  if (!keep) return true;
  trace::SetRawResult(&c.ev.h, raw);
  if (c.d.kill_after) c.ev.h.flags |= trace::kFlagKilled;
  s.Emit(&c.ev, t, &regs);
  if (!c.d.kill_after) return true;
  ::kill(t.tgid, SIGKILL);
  return false;
}

}  // namespace aftershock::inject
