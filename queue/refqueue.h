// librefqueue: the reference queue. A mail queue built on Postfix's
// principles: one file per message, written once, marked complete with +x,
// and acknowledged only when durable; done marks are one-byte updates in
// place; recovery rolls forward and is safe to crash at any point.
//
// Every function here is meant to run in its own process, one at a time (the
// CLI `refqueue`); they do not lock against each other.
#ifndef REFQUEUE_REFQUEUE_H_
#define REFQUEUE_REFQUEUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bugs.h"
#include "queue_file_format.h"
#include "status.h"

namespace refqueue {

struct Options {
  std::string root;   // the queue root directory
  int64_t now_s = 0;  // the virtual clock (AFTERSHOCK_NOW)
  Fanout fanout = Fanout::kWorkfile;
  std::string sink;              // deliver: a command run as `sink RCPT... < message`
  bool maildir = false;          // deliver into root/mail/<rcpt>/ instead of the sink
  int64_t stale_after_s = 3600;  // incomplete files older than this are removed
  BugSet bugs;
};

// Creates the directory layout and a queue per name in `queues`.
Status Init(const Options& options, const std::vector<std::string>& queues);

// Commits `content` for `rcpts` under message id `id` into incoming/. Ok means
// acknowledged: the file is durable. Sets *name to its file name.
Status Enqueue(const Options& options, std::string_view id, const std::vector<std::string>& rcpts,
               std::string_view content, std::string* name);

struct DeliverStats {
  int fanned_out = 0;   // incoming files rolled forward into the queues
  int delivered = 0;    // copies handed over (sink) or committed (maildir)
  int deferred = 0;     // copies the sink refused; retried on the next run
  int quarantined = 0;  // invalid complete files moved to corrupt/
  int removed = 0;      // queue files removed once all their recipients were done
};

// One queue run: fans out incoming/, then delivers every pending recipient.
Status Deliver(const Options& options, DeliverStats* stats);

struct RecoverStats {
  int fanned_out = 0;
  int stale_removed = 0;  // incomplete files older than stale_after_s
  int quarantined = 0;
  int done_removed = 0;  // files whose recipients were all done
  int tmp_removed = 0;   // maildir tmp/ leftovers
};

// Brings the queue to a clean state after a crash; idempotent.
Status Recover(const Options& options, RecoverStats* stats);

}  // namespace refqueue

#endif  // REFQUEUE_REFQUEUE_H_
