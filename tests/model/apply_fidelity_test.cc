// Applying a trace reproduces the real end state: random operations are run
// for real in a scratch directory and recorded as the injector records them
// (absolute paths, real dev/ino, failed calls with their errno); applying the
// recording to the captured initial state must give the captured end state.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <rapidcheck/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "model/fs_state.h"

namespace aftershock {
namespace {

class RealRecorder {
 public:
  explicit RealRecorder(std::string root) : root_(std::move(root)) {
    // Modes in the trace are the modes files got, so the launcher's kMeta
    // says umask=0.
    Op m;
    m.kind = OpKind::kMeta;
    m.path = root_;
    m.data = "umask=0";
    Record(m, 0);
  }
  ~RealRecorder() {
    for (auto& [fd, path] : fds_) ::close(fd);
  }
  std::vector<Op>& ops() { return ops_; }

  void Open(const std::string& rel, uint32_t flags, uint32_t mode) {
    std::string abs = Abs(rel);
    struct stat before {};
    bool existed = ::stat(abs.c_str(), &before) == 0;  // through a symlink, as open goes
    int fd = ::open(abs.c_str(), static_cast<int>(flags | O_CLOEXEC), mode);
    Op op;
    op.kind = OpKind::kOpen;
    op.path = abs;
    op.oflags = flags;
    op.mode = mode;
    if (fd >= 0) {
      fds_[fd] = abs;
      struct stat sb {};
      ::fstat(fd, &sb);
      op.dev = sb.st_dev;
      op.ino = sb.st_ino;
      op.mode = sb.st_mode;  // what the file has, the umask applied
      if (!existed) op.flags |= trace::kFlagCreated;
      if (S_ISDIR(sb.st_mode)) op.flags |= trace::kFlagDirectory;
    }
    Record(op, fd);
  }
  void Pwrite(int which, uint64_t off, const std::string& data) {
    int fd = Fd(which);
    if (fd < 0) return;
    Op op = FdOp(OpKind::kWrite, fd);
    op.data = data;
    op.length = data.size();
    op.offset = static_cast<int64_t>(off);
    Record(op, ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)));
  }
  void Ftruncate(int which, uint64_t len) {
    int fd = Fd(which);
    if (fd < 0) return;
    Op op = FdOp(OpKind::kTruncate, fd);
    op.length = len;
    Record(op, ::ftruncate(fd, static_cast<off_t>(len)));
  }
  void Fchmod(int which, uint32_t mode) {
    int fd = Fd(which);
    if (fd < 0) return;
    Op op = FdOp(OpKind::kChmod, fd);
    op.mode = mode;
    Record(op, ::fchmod(fd, mode));
  }
  void Close(int which) {
    int fd = Fd(which);
    if (fd < 0) return;
    Op op = FdOp(OpKind::kClose, fd);
    fds_.erase(fd);
    Record(op, ::close(fd));
  }
  void Rename(const std::string& a, const std::string& b) {
    Record(PathOp(OpKind::kRename, a, b), ::rename(Abs(a).c_str(), Abs(b).c_str()));
  }
  void Link(const std::string& a, const std::string& b) {
    Record(PathOp(OpKind::kLink, a, b), ::link(Abs(a).c_str(), Abs(b).c_str()));
  }
  void Unlink(const std::string& a) {
    Record(PathOp(OpKind::kUnlink, a, ""), ::unlink(Abs(a).c_str()));
  }
  void Mkdir(const std::string& a, uint32_t mode) {
    Op op = PathOp(OpKind::kMkdir, a, "");
    op.mode = mode;
    int r = ::mkdir(Abs(a).c_str(), mode);
    struct stat sb {};
    if (r == 0 && ::lstat(Abs(a).c_str(), &sb) == 0) op.mode = sb.st_mode;
    Record(op, r);
  }
  void Rmdir(const std::string& a) {
    Record(PathOp(OpKind::kRmdir, a, ""), ::rmdir(Abs(a).c_str()));
  }
  void Symlink(const std::string& target, const std::string& a) {
    Op op = PathOp(OpKind::kSymlink, a, "");
    op.data = target;
    Record(op, ::symlink(target.c_str(), Abs(a).c_str()));
  }

 private:
  std::string Abs(const std::string& rel) const { return root_ + "/" + rel; }
  int Fd(int which) const {
    if (fds_.empty()) return -1;
    auto it = fds_.begin();
    std::advance(it, which % static_cast<int>(fds_.size()));
    return it->first;
  }
  Op FdOp(OpKind kind, int fd) const {
    Op op;
    op.kind = kind;
    op.fd = fd;
    op.path = fds_.at(fd);
    struct stat sb {};
    ::fstat(fd, &sb);
    op.dev = sb.st_dev;
    op.ino = sb.st_ino;
    return op;
  }
  Op PathOp(OpKind kind, const std::string& a, const std::string& b) const {
    Op op;
    op.kind = kind;
    op.path = Abs(a);  // lexical, as the injector records it: symlinks not followed
    if (!b.empty()) op.path2 = Abs(b);
    return op;
  }
  void Record(Op op, int64_t result) {
    op.seq = ops_.size() + 1;
    op.result = result < 0 ? -1 : result;
    op.err = result < 0 ? errno : 0;
    ops_.push_back(std::move(op));
  }

  std::string root_;
  std::vector<Op> ops_;
  std::map<int, std::string> fds_;
};

struct RealAction {
  int kind;
  int a, b;
  std::string data;
};

void showValue(const RealAction& x, std::ostream& os) {
  os << "{" << x.kind % 13 << ", " << x.a << ", " << x.b << ", " << x.data.size() << " bytes}";
}

std::string Name(int i) {
  static const char* kNames[] = {"f0", "f1", "d/f0", "d/f1", "d", "e", "e/f2", "s"};
  return kNames[i % 8];
}

void Run(RealRecorder& r, const RealAction& x) {
  std::string p = Name(x.a), q = Name(x.b);
  switch (x.kind % 13) {
    case 0:
      r.Open(p, O_CREAT | O_RDWR, 0600 | (x.b & 0177));
      break;
    case 1:
      r.Open(p, O_RDWR | O_TRUNC, 0);
      break;
    case 2:
      r.Open(p, O_RDONLY | O_DIRECTORY, 0);
      break;
    case 3:
      r.Pwrite(x.a, x.b % 9000, x.data);
      break;
    case 4:
      r.Ftruncate(x.a, x.b % 5000);
      break;
    case 5:
      r.Fchmod(x.a, x.b & 0777);
      break;
    case 6:
      r.Close(x.a);
      break;
    case 7:
      r.Rename(p, q);
      break;
    case 8:
      r.Link(p, q);
      break;
    case 9:
      r.Unlink(p);
      break;
    case 10:
      r.Mkdir(p, 0700 | (x.b & 077));
      break;
    case 11:
      r.Rmdir(p);
      break;
    case 12:
      r.Symlink(q, p);
      break;
  }
}

std::string MakeScratch() {
  std::string tmpl = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") +
                     std::string("/aftershock-fidelity.XXXXXX");
  return mkdtemp(tmpl.data());
}

RC_GTEST_PROP(ApplyFidelity, ApplyingTheRecordingGivesTheRealEndState,
              (std::vector<RealAction> actions)) {
  std::string root = MakeScratch();
  ::mkdir((root + "/d").c_str(), 0755);  // the untraced init
  Status st;
  auto initial = Capture(root, &st);
  RC_ASSERT(initial.has_value());
  std::vector<Op> ops;
  {
    RealRecorder rec(root);
    for (const RealAction& x : actions) Run(rec, x);
    ops = rec.ops();
  }
  auto final_state = Capture(root, &st);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
  RC_ASSERT(final_state.has_value());
  FsState model = *initial;
  for (const Op& op : ops) {
    Status a = model.Apply(op);
    if (!a.ok()) RC_FAIL(a.message());
  }
  size_t succeeded = 0;
  for (const Op& op : ops) succeeded += op.result >= 0 && op.kind != OpKind::kMeta;
  RC_TAG(succeeded < 5 ? "<5 calls succeeded" : succeeded < 20 ? "5-19" : "20+");
  auto diff = Diff(model, *final_state);
  if (diff) RC_FAIL("model vs real: " + *diff);
}

}  // namespace
}  // namespace aftershock

namespace rc {
template <>
struct Arbitrary<aftershock::RealAction> {
  static Gen<aftershock::RealAction> arbitrary() {
    return gen::build<aftershock::RealAction>(
        gen::set(&aftershock::RealAction::kind, gen::inRange(0, 13)),
        gen::set(&aftershock::RealAction::a, gen::inRange(0, 8)),
        gen::set(&aftershock::RealAction::b, gen::inRange(0, 10000)),
        gen::set(&aftershock::RealAction::data,
                 gen::container<std::string>(gen::character<char>())));
  }
};
}  // namespace rc
