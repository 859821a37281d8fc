// Recover: run first after a crash. Every step checks the state it finds and
// redoes only what is missing, so a crash during recovery is recovered by
// running it again.
#include "fanout.h"
#include "fault.h"
#include "fs.h"
#include "layout.h"
#include "queue_file.h"
#include "refqueue.h"

namespace refqueue {
namespace {

// Removes incomplete files of `dir` whose name says they are older than the
// stale threshold. A younger one may belong to an enqueue still writing it.
Status RemoveStale(const Options& options, const std::string& dir, RecoverStats* stats) {
  std::vector<std::string> names;
  REFQUEUE_RETURN_IF_ERROR(ListDir(dir, &names));
  bool removed_any = false;
  for (const std::string& name : names) {
    std::string path = JoinPath(dir, name);
    struct stat st;
    bool exists = false;
    REFQUEUE_RETURN_IF_ERROR(StatPath(path, &st, &exists));
    if (!exists || !S_ISREG(st.st_mode) || IsComplete(st)) continue;
    std::optional<int64_t> created_s = CreatedAt(name);
    if (!created_s) continue;  // not a name the queue makes: not ours to remove
    // BUG (stale-ignores-age): "incomplete means abandoned" drops the age test.
    bool stale = options.bugs.Has(Bug::kStaleIgnoresAge) ||
                 options.now_s - *created_s > options.stale_after_s;
    if (!stale) continue;
    REFQUEUE_RETURN_IF_ERROR(Unlink(path));
    REFQUEUE_FAULT_POINT("refqueue/recover/after-stale-unlink");
    ++stats->stale_removed;
    removed_any = true;
  }
  // Not needed for safety: an incomplete file that comes back is removed again.
  if (removed_any) REFQUEUE_RETURN_IF_ERROR(SyncDir(dir));
  return Status::Ok();
}

// Quarantines invalid complete files of queue `queue` and removes those whose
// recipients there are all done (a crash came between last mark and unlink).
Status CheckQueue(const Options& options, const std::string& queue, RecoverStats* stats) {
  Layout layout(options.root);
  const std::string dir = layout.Queue(queue);
  std::vector<std::string> names;
  REFQUEUE_RETURN_IF_ERROR(ListDir(dir, &names));
  bool removed_any = false;
  for (const std::string& name : names) {
    std::string path = JoinPath(dir, name);
    struct stat st;
    bool exists = false;
    REFQUEUE_RETURN_IF_ERROR(StatPath(path, &st, &exists));
    if (!exists || !S_ISREG(st.st_mode) || !IsComplete(st)) continue;
    QueueFile file;
    Status status = LoadQueueFile(path, &file, nullptr);
    if (status.IsInvalid()) {
      REFQUEUE_RETURN_IF_ERROR(Quarantine(layout, dir, name));
      ++stats->quarantined;
      continue;
    }
    REFQUEUE_RETURN_IF_ERROR(status);
    if (!AllDoneIn(file, queue)) continue;
    REFQUEUE_RETURN_IF_ERROR(Unlink(path));
    REFQUEUE_FAULT_POINT("refqueue/recover/after-done-unlink");
    ++stats->done_removed;
    removed_any = true;
  }
  if (removed_any) REFQUEUE_RETURN_IF_ERROR(SyncDir(dir));
  return Status::Ok();
}

// A copy in tmp/ was never linked into new/ (or was, and its tmp/ name
// survived): either way it is not a delivery. Only one queue process runs at
// a time, so no delivery is writing it now.
Status RemoveMaildirTmp(const Layout& layout, RecoverStats* stats) {
  std::vector<std::string> rcpts;
  REFQUEUE_RETURN_IF_ERROR(ListDir(layout.root() + "/mail", &rcpts));
  for (const std::string& rcpt : rcpts) {
    const std::string tmp = layout.Mailbox(rcpt) + "/tmp";
    std::vector<std::string> names;
    REFQUEUE_RETURN_IF_ERROR(ListDir(tmp, &names));
    for (const std::string& name : names) {
      REFQUEUE_RETURN_IF_ERROR(Unlink(JoinPath(tmp, name)));
      REFQUEUE_FAULT_POINT("refqueue/recover/after-tmp-unlink");
      ++stats->tmp_removed;
    }
    if (!names.empty()) REFQUEUE_RETURN_IF_ERROR(SyncDir(tmp));
  }
  return Status::Ok();
}

}  // namespace

Status Recover(const Options& options, RecoverStats* stats) {
  Layout layout(options.root);
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Incoming()));
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Queues()));
  // Roll forward first: incomplete outputs of an interrupted fan-out are
  // redone from their work file, not left to the stale sweep.
  FanoutStats fanout;
  REFQUEUE_RETURN_IF_ERROR(FanOut(options, &fanout));
  stats->fanned_out += fanout.rolled_forward;
  stats->quarantined += fanout.quarantined;
  REFQUEUE_RETURN_IF_ERROR(RemoveStale(options, layout.Incoming(), stats));
  std::vector<std::string> queues;
  REFQUEUE_RETURN_IF_ERROR(ListDir(layout.Queues(), &queues));
  for (const std::string& queue : queues) {
    REFQUEUE_RETURN_IF_ERROR(RemoveStale(options, layout.Queue(queue), stats));
    REFQUEUE_RETURN_IF_ERROR(CheckQueue(options, queue, stats));
  }
  return RemoveMaildirTmp(layout, stats);
}

}  // namespace refqueue
