// Deliver: one queue run. Fans out incoming/, then hands every pending copy
// over and marks it done. The only duplicate window is between a hand-off and
// its done mark reaching the disk.
#include "fanout.h"
#include "fault.h"
#include "fs.h"
#include "handoff.h"
#include "layout.h"
#include "queue_file.h"
#include "refqueue.h"

namespace refqueue {
namespace {

// Hands `batch` over: the sink takes all of them at once; maildir takes one.
Status HandOff(const Options& options, const std::string& name, const QueueFile& file,
               const std::vector<Recipient*>& batch, bool* accepted) {
  if (!options.maildir) {
    std::vector<std::string> rcpts;
    for (const Recipient* rcpt : batch) rcpts.push_back(rcpt->address);
    return RunSink(options.sink, rcpts, file.content, accepted);
  }
  Layout layout(options.root);
  for (const Recipient* rcpt : batch) {
    REFQUEUE_RETURN_IF_ERROR(
        MaildirDeliver(layout, rcpt->address, name, file.content, options.bugs));
  }
  *accepted = true;
  return Status::Ok();
}

Status DeliverBatch(const Options& options, const std::string& path, const std::string& name,
                    int fd, const QueueFile& file, const std::vector<Recipient*>& batch,
                    DeliverStats* stats) {
  bool accepted = false;
  if (options.bugs.Has(Bug::kDoneBeforeDelivery)) {
    // BUG: "mark first so that a crash cannot duplicate": a crash before the
    // hand-off now loses the copy instead.
    REFQUEUE_RETURN_IF_ERROR(MarkDone(fd, path, batch, options.bugs));
    REFQUEUE_FAULT_POINT("refqueue/deliver/after-mark");
    REFQUEUE_RETURN_IF_ERROR(HandOff(options, name, file, batch, &accepted));
    REFQUEUE_FAULT_POINT("refqueue/deliver/after-handoff");
    if (!accepted) {
      stats->deferred += static_cast<int>(batch.size());
      return MarkPending(fd, path, batch);
    }
  } else {
    REFQUEUE_RETURN_IF_ERROR(HandOff(options, name, file, batch, &accepted));
    if (!accepted) {
      stats->deferred += static_cast<int>(batch.size());
      return Status::Ok();
    }
    REFQUEUE_FAULT_POINT("refqueue/deliver/after-handoff");
    // The copy is durable elsewhere now; the mark only prevents a duplicate.
    REFQUEUE_RETURN_IF_ERROR(MarkDone(fd, path, batch, options.bugs));
    REFQUEUE_FAULT_POINT("refqueue/deliver/after-mark");
  }
  stats->delivered += static_cast<int>(batch.size());
  return Status::Ok();
}

// Delivers the recipients of `queue` in one file; sets *removed if the file
// was done and unlinked.
Status DeliverFile(const Options& options, const std::string& queue, const std::string& name,
                   DeliverStats* stats, bool* removed) {
  Layout layout(options.root);
  const std::string dir = layout.Queue(queue);
  const std::string path = JoinPath(dir, name);
  *removed = false;
  struct stat st;
  bool exists = false;
  REFQUEUE_RETURN_IF_ERROR(StatPath(path, &st, &exists));
  // Without +x the file is still being written (or never will be).
  if (!exists || !S_ISREG(st.st_mode) || !IsComplete(st)) return Status::Ok();
  QueueFile file;
  Fd fd;
  Status status = LoadQueueFile(path, &file, &fd);
  if (status.IsInvalid()) {
    ++stats->quarantined;
    return Quarantine(layout, dir, name);
  }
  REFQUEUE_RETURN_IF_ERROR(status);
  std::vector<Recipient*> pending;
  for (Recipient& rcpt : file.recipients) {
    if (DomainOf(rcpt.address) == queue && rcpt.status == RcptStatus::kPending) {
      pending.push_back(&rcpt);
    }
  }
  if (options.maildir) {
    for (Recipient* rcpt : pending) {
      REFQUEUE_RETURN_IF_ERROR(DeliverBatch(options, path, name, fd.get(), file, {rcpt}, stats));
    }
  } else if (!pending.empty()) {
    REFQUEUE_RETURN_IF_ERROR(DeliverBatch(options, path, name, fd.get(), file, pending, stats));
  }
  if (!AllDoneIn(file, queue)) return Status::Ok();
  REFQUEUE_RETURN_IF_ERROR(Unlink(path));
  REFQUEUE_FAULT_POINT("refqueue/deliver/after-unlink");
  ++stats->removed;
  *removed = true;
  return Status::Ok();
}

}  // namespace

Status Deliver(const Options& options, DeliverStats* stats) {
  if (options.sink.empty() && !options.maildir) {
    return Status::Invalid("deliver needs a sink (--sink, AFTERSHOCK_SINK) or --maildir");
  }
  Layout layout(options.root);
  FanoutStats fanout;
  REFQUEUE_RETURN_IF_ERROR(FanOut(options, &fanout));
  stats->fanned_out += fanout.rolled_forward;
  stats->quarantined += fanout.quarantined;
  std::vector<std::string> queues;
  REFQUEUE_RETURN_IF_ERROR(ListDir(layout.Queues(), &queues));
  for (const std::string& queue : queues) {
    std::vector<std::string> names;
    REFQUEUE_RETURN_IF_ERROR(ListDir(layout.Queue(queue), &names));
    bool removed_any = false;
    for (const std::string& name : names) {
      bool removed = false;
      REFQUEUE_RETURN_IF_ERROR(DeliverFile(options, queue, name, stats, &removed));
      removed_any = removed_any || removed;
    }
    // Not needed for safety (a file that comes back has every mark set and
    // is removed again); it keeps a power loss from resurrecting work.
    if (removed_any) REFQUEUE_RETURN_IF_ERROR(SyncDir(layout.Queue(queue)));
  }
  return Status::Ok();
}

}  // namespace refqueue
