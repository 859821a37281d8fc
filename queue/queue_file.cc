#include "queue_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "fault.h"

namespace refqueue {
namespace {

struct WriterPoints {
  const char* after_create;
  const char* after_write;
  const char* after_fsync;
  const char* after_chmod;
  const char* after_chmod_fsync;
};

constexpr WriterPoints kEnqueuePoints = {
    "refqueue/enqueue/after-create",      "refqueue/enqueue/after-write",
    "refqueue/enqueue/after-fsync",       "refqueue/enqueue/after-chmod",
    "refqueue/enqueue/after-chmod-fsync",
};

constexpr WriterPoints kFanoutPoints = {
    "refqueue/fanout/after-create",      "refqueue/fanout/after-write",
    "refqueue/fanout/after-fsync",       "refqueue/fanout/after-chmod",
    "refqueue/fanout/after-chmod-fsync",
};

// The last write of a file: its end record (5 bytes) and checksum (8 bytes).
constexpr size_t kTailBytes = 13;

Status MarkComplete(int fd, const std::string& path, const WriterPoints& points) {
  REFQUEUE_RETURN_IF_ERROR(Fchmod(fd, kCompleteMode, path));
  REFQUEUE_FAULT_POINT(points.after_chmod);
  return Status::Ok();
}

}  // namespace

Status CommitQueueFile(const std::string& path, QueueFile* file, Writer writer, const BugSet& bugs,
                       bool* exists) {
  const WriterPoints& points = writer == Writer::kEnqueue ? kEnqueuePoints : kFanoutPoints;
  const bool never_fsync = bugs.Has(Bug::kAckBeforeFsync);
  const bool chmod_early = bugs.Has(Bug::kChmodBeforeLastWrite);
  Fd fd;
  // Created without +x: until the mark, readers treat it as being written.
  REFQUEUE_RETURN_IF_ERROR(CreateExclusive(path, kIncompleteMode, &fd, exists));
  if (*exists) return Status::Ok();
  REFQUEUE_FAULT_POINT(points.after_create);

  std::string bytes = Encode(file);
  std::string_view head = std::string_view(bytes).substr(0, bytes.size() - kTailBytes);
  std::string_view tail = std::string_view(bytes).substr(bytes.size() - kTailBytes);
  REFQUEUE_RETURN_IF_ERROR(WriteAll(fd.get(), head, path));
  if (chmod_early) REFQUEUE_RETURN_IF_ERROR(MarkComplete(fd.get(), path, points));
  REFQUEUE_RETURN_IF_ERROR(WriteAll(fd.get(), tail, path));
  REFQUEUE_FAULT_POINT(points.after_write);

  // Prevents: +x reaching the disk before the bytes it vouches for, so that a
  // power loss leaves a file that is marked complete but torn or empty.
  if (!never_fsync && !bugs.Has(Bug::kNoFsyncBeforeChmod)) {
    REFQUEUE_RETURN_IF_ERROR(Fsync(fd.get(), path));
  }
  REFQUEUE_FAULT_POINT(points.after_fsync);
  if (!chmod_early) REFQUEUE_RETURN_IF_ERROR(MarkComplete(fd.get(), path, points));

  // Prevents: the +x being lost, so that the acknowledged file looks like an
  // interrupted enqueue and is removed once stale.
  if (!never_fsync) REFQUEUE_RETURN_IF_ERROR(Fsync(fd.get(), path));
  REFQUEUE_FAULT_POINT(points.after_chmod_fsync);
  return Status::Ok();
}

Status LoadQueueFile(const std::string& path, QueueFile* file, Fd* fd) {
  Fd own(open(path.c_str(), (fd != nullptr ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (!own.valid()) return Status::IoError("open " + path, errno);
  std::string bytes;
  REFQUEUE_RETURN_IF_ERROR(ReadFd(own.get(), path, &bytes));
  Status status = Decode(bytes, file);
  if (!status.ok()) return Status::Invalid(path + ": " + status.message());
  if (fd != nullptr) *fd = std::move(own);
  return Status::Ok();
}

Status MarkDone(int fd, const std::string& path, const std::vector<Recipient*>& rcpts,
                const BugSet& bugs) {
  const char done = static_cast<char>(RcptStatus::kDone);
  for (Recipient* rcpt : rcpts) {
    // One byte, in place: a single-sector overwrite is atomic, so the record
    // is either pending or done after any crash, never torn.
    REFQUEUE_RETURN_IF_ERROR(PwriteAll(fd, std::string_view(&done, 1), rcpt->status_offset, path));
    rcpt->status = RcptStatus::kDone;
  }
  // Prevents: the mark being lost after the copy was delivered, which would
  // deliver it again (a duplicate; never a loss).
  if (!bugs.Has(Bug::kNoDoneFsync)) REFQUEUE_RETURN_IF_ERROR(Fsync(fd, path));
  return Status::Ok();
}

Status MarkPending(int fd, const std::string& path, const std::vector<Recipient*>& rcpts) {
  const char pending = static_cast<char>(RcptStatus::kPending);
  for (Recipient* rcpt : rcpts) {
    REFQUEUE_RETURN_IF_ERROR(
        PwriteAll(fd, std::string_view(&pending, 1), rcpt->status_offset, path));
    rcpt->status = RcptStatus::kPending;
  }
  return Fsync(fd, path);
}

Status Quarantine(const Layout& layout, const std::string& dir, const std::string& name) {
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Corrupt()));
  std::string base = dir.substr(dir.find_last_of('/') + 1) + "." + name;
  std::string from = JoinPath(dir, name);
  for (int n = 0;; ++n) {
    std::string to = JoinPath(layout.Corrupt(), n == 0 ? base : base + "." + std::to_string(n));
    if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) break;
    if (errno != EEXIST) return Status::IoError("rename " + from + " -> " + to, errno);
  }
  REFQUEUE_FAULT_POINT("refqueue/quarantine/after-rename");
  // Prevents: a power loss keeping the removal from `dir` but not the entry in
  // corrupt/, which would lose the evidence (corrupt/ is synced first).
  REFQUEUE_RETURN_IF_ERROR(SyncDir(layout.Corrupt()));
  return SyncDir(dir);
}

}  // namespace refqueue
