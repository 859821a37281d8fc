#include "fanout.h"

#include "fault.h"
#include "fs.h"
#include "layout.h"
#include "queue_file.h"

namespace refqueue {
namespace {

QueueFile OutputFor(const QueueFile& work, std::string_view queue) {
  QueueFile out;
  out.created_s = work.created_s;
  out.id = work.id;
  out.fanout = work.fanout;
  for (const Recipient& rcpt : work.recipients) {
    if (DomainOf(rcpt.address) == queue) out.recipients.push_back(rcpt);
  }
  out.content = work.content;
  return out;
}

// Writes the output for `queue` unless a complete one is there already. +x
// is trusted to mean complete, as everywhere in the queue.
Status CommitOutput(const Layout& layout, const std::string& name, const QueueFile& work,
                    std::string_view queue, const BugSet& bugs) {
  QueueFile out = OutputFor(work, queue);
  std::string dir = layout.Queue(queue);
  bool exists = false;
  if (bugs.Has(Bug::kRecoverNotIdempotent)) {
    // BUG: reuses the "first free name" routine of enqueue, so a second run
    // after a crash writes a second copy next to the first.
    for (int n = 0;; ++n) {
      std::string path = JoinPath(dir, n == 0 ? name : name + "." + std::to_string(n));
      REFQUEUE_RETURN_IF_ERROR(CommitQueueFile(path, &out, Writer::kFanout, bugs, &exists));
      if (!exists) return Status::Ok();
    }
  }
  std::string path = JoinPath(dir, name);
  struct stat st;
  REFQUEUE_RETURN_IF_ERROR(StatPath(path, &st, &exists));
  if (exists && IsComplete(st)) return Status::Ok();
  // An incomplete output is what an interrupted roll-forward left: redo it.
  if (exists) REFQUEUE_RETURN_IF_ERROR(Unlink(path));
  return CommitQueueFile(path, &out, Writer::kFanout, bugs, &exists);
}

Status SyncQueues(const Layout& layout, const QueueFile& work) {
  for (const std::string& queue : work.outputs) {
    REFQUEUE_RETURN_IF_ERROR(SyncDir(layout.Queue(queue)));
  }
  REFQUEUE_FAULT_POINT("refqueue/fanout/after-dir-fsync");
  return Status::Ok();
}

Status RemoveSource(const Layout& layout, const std::string& name) {
  REFQUEUE_RETURN_IF_ERROR(Unlink(JoinPath(layout.Incoming(), name)));
  REFQUEUE_FAULT_POINT("refqueue/fanout/after-unlink");
  // Prevents: the source reappearing after a power loss and being rolled
  // forward again after its outputs were delivered (duplicates).
  return SyncDir(layout.Incoming());
}

// Strategy (a): the incoming file is a work file that lists its outputs, one
// copy per queue holding that queue's recipients. It is removed only once all
// outputs are committed; until then recovery can make them again from it.
Status RollForwardWorkfile(const Layout& layout, const std::string& name, const QueueFile& work,
                           const BugSet& bugs) {
  // BUG: the work file is "claimed" (read into memory, then removed) before
  // the outputs that replace it exist.
  if (bugs.Has(Bug::kWorkfileUnlinkFirst)) REFQUEUE_RETURN_IF_ERROR(RemoveSource(layout, name));
  for (const std::string& queue : work.outputs) {
    REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Queue(queue)));
    REFQUEUE_RETURN_IF_ERROR(CommitOutput(layout, name, work, queue, bugs));
    REFQUEUE_FAULT_POINT("refqueue/fanout/after-output");
  }
  // Prevents: the outputs' names vanishing in a power loss after the work
  // file, the only other copy, is gone.
  REFQUEUE_RETURN_IF_ERROR(SyncQueues(layout, work));
  if (bugs.Has(Bug::kWorkfileUnlinkFirst)) return Status::Ok();
  return RemoveSource(layout, name);
}

// Strategy (b): the committed file is hard-linked into each queue; each queue
// marks only its own recipients in the shared inode.
Status RollForwardHardlink(const Layout& layout, const std::string& name, const QueueFile& file,
                           const BugSet& bugs) {
  std::string source = JoinPath(layout.Incoming(), name);
  for (const std::string& queue : file.outputs) {
    REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Queue(queue)));
    // A queue whose recipients are all done (in the shared inode) delivered
    // and dropped its link already: linking again would deliver again.
    if (AllDoneIn(file, queue)) continue;
    bool exists = false;
    REFQUEUE_RETURN_IF_ERROR(Link(source, JoinPath(layout.Queue(queue), name), &exists));
    REFQUEUE_FAULT_POINT("refqueue/fanout/after-output");
  }
  if (bugs.Has(Bug::kHardlinkUnlinkBeforeDirsync)) {
    // BUG: the source goes first; the links it was meant to outlive are not
    // yet durable.
    REFQUEUE_RETURN_IF_ERROR(RemoveSource(layout, name));
    return SyncQueues(layout, file);
  }
  // Prevents: a power loss keeping the source's removal but not the links.
  REFQUEUE_RETURN_IF_ERROR(SyncQueues(layout, file));
  return RemoveSource(layout, name);
}

}  // namespace

bool AllDoneIn(const QueueFile& file, std::string_view queue) {
  for (const Recipient& rcpt : file.recipients) {
    if (DomainOf(rcpt.address) == queue && rcpt.status != RcptStatus::kDone) return false;
  }
  return true;
}

Status FanOut(const Options& options, FanoutStats* stats) {
  Layout layout(options.root);
  std::vector<std::string> names;
  REFQUEUE_RETURN_IF_ERROR(ListDir(layout.Incoming(), &names));
  for (const std::string& name : names) {
    std::string path = JoinPath(layout.Incoming(), name);
    struct stat st;
    bool exists = false;
    REFQUEUE_RETURN_IF_ERROR(StatPath(path, &st, &exists));
    // Without +x the enqueue did not finish: never read for delivery.
    if (!exists || !S_ISREG(st.st_mode) || !IsComplete(st)) continue;
    QueueFile file;
    Status status = LoadQueueFile(path, &file, nullptr);
    if (status.IsInvalid()) {
      REFQUEUE_RETURN_IF_ERROR(Quarantine(layout, layout.Incoming(), name));
      ++stats->quarantined;
      continue;
    }
    REFQUEUE_RETURN_IF_ERROR(status);
    if (file.fanout == Fanout::kHardlink) {
      REFQUEUE_RETURN_IF_ERROR(RollForwardHardlink(layout, name, file, options.bugs));
    } else {
      REFQUEUE_RETURN_IF_ERROR(RollForwardWorkfile(layout, name, file, options.bugs));
    }
    ++stats->rolled_forward;
  }
  return Status::Ok();
}

}  // namespace refqueue
