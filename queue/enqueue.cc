// Enqueue: one file per message in incoming/, acknowledged once durable.
#include <algorithm>

#include "fault.h"
#include "fs.h"
#include "layout.h"
#include "queue_file.h"
#include "refqueue.h"

namespace refqueue {
namespace {

// A name "<now>.<id>[.<n>]" is ours only if no queue the message goes to
// holds it either: outputs and links reuse the name.
Status NameIsTakenInQueues(const Layout& layout, const QueueFile& file, const std::string& name,
                           bool* taken) {
  *taken = false;
  for (const std::string& queue : file.outputs) {
    struct stat st;
    REFQUEUE_RETURN_IF_ERROR(StatPath(JoinPath(layout.Queue(queue), name), &st, taken));
    if (*taken) return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace

Status Init(const Options& options, const std::vector<std::string>& queues) {
  Layout layout(options.root);
  for (const std::string& queue : queues) {
    if (!IsValidRecipient("x@" + queue)) return Status::Invalid("bad queue name '" + queue + "'");
  }
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Incoming()));
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Queues()));
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Corrupt()));
  for (const std::string& queue : queues) REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Queue(queue)));
  return Status::Ok();
}

Status Enqueue(const Options& options, std::string_view id, const std::vector<std::string>& rcpts,
               std::string_view content, std::string* name) {
  if (!IsValidId(id)) return Status::Invalid("bad message id '" + std::string(id) + "'");
  if (rcpts.empty()) return Status::Invalid("no recipients");
  if (rcpts.size() > kMaxRecipients) return Status::Invalid("too many recipients");
  if (content.size() > kMaxContentBytes) return Status::Invalid("message too large");
  if (options.now_s < 0) return Status::Invalid("negative clock");
  QueueFile file;
  file.created_s = options.now_s;
  file.id = std::string(id);
  file.fanout = options.fanout;
  file.content = std::string(content);
  for (const std::string& rcpt : rcpts) {
    if (!IsValidRecipient(rcpt)) return Status::Invalid("bad recipient '" + rcpt + "'");
    bool seen = std::any_of(file.recipients.begin(), file.recipients.end(),
                            [&](const Recipient& r) { return r.address == rcpt; });
    if (!seen) file.recipients.push_back({rcpt, RcptStatus::kPending, 0});
    std::string queue(DomainOf(rcpt));
    if (std::find(file.outputs.begin(), file.outputs.end(), queue) == file.outputs.end()) {
      file.outputs.push_back(queue);
    }
  }
  std::sort(file.outputs.begin(), file.outputs.end());

  Layout layout(options.root);
  REFQUEUE_RETURN_IF_ERROR(EnsureDir(layout.Incoming()));
  constexpr int kMaxNameTries = 1000;
  for (int n = 0; n < kMaxNameTries; ++n) {
    std::string candidate = FileName(options.now_s, id, n);
    bool taken = false;
    REFQUEUE_RETURN_IF_ERROR(NameIsTakenInQueues(layout, file, candidate, &taken));
    if (taken) continue;
    REFQUEUE_RETURN_IF_ERROR(CommitQueueFile(JoinPath(layout.Incoming(), candidate), &file,
                                             Writer::kEnqueue, options.bugs, &taken));
    if (taken) continue;
    // Prevents: a power loss dropping the new name from incoming/ after the
    // acknowledgement, which would lose the message with its bytes intact.
    if (!options.bugs.Has(Bug::kNoDirFsync)) REFQUEUE_RETURN_IF_ERROR(SyncDir(layout.Incoming()));
    REFQUEUE_FAULT_POINT("refqueue/enqueue/after-dir-fsync");
    *name = candidate;
    return Status::Ok();
  }
  return Status::Invalid("no free name for message '" + std::string(id) + "'");
}

}  // namespace refqueue
