// Fan-out: rolls every committed file of incoming/ forward into the queues of
// its recipients' domains. Run first by both deliver and recover, so an
// interrupted fan-out is always finished before anything is delivered.
#ifndef REFQUEUE_FANOUT_H_
#define REFQUEUE_FANOUT_H_

#include "refqueue.h"

namespace refqueue {

struct FanoutStats {
  int rolled_forward = 0;
  int quarantined = 0;
};

Status FanOut(const Options& options, FanoutStats* stats);

// True iff every recipient of `file` whose domain is `queue` is done.
bool AllDoneIn(const QueueFile& file, std::string_view queue);

}  // namespace refqueue

#endif  // REFQUEUE_FANOUT_H_
