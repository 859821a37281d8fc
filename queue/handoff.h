// Hand-off of one copy: to the sink program, or into a maildir. Either way the
// copy is durable when these return with success, and only then may the
// caller write the done mark.
#ifndef REFQUEUE_HANDOFF_H_
#define REFQUEUE_HANDOFF_H_

#include <string>
#include <string_view>
#include <vector>

#include "bugs.h"
#include "layout.h"
#include "status.h"

namespace refqueue {

// Runs `sink RCPT...` through /bin/sh with `content` on its stdin. Sets
// *accepted iff the sink read everything and exited 0 (its acceptance).
Status RunSink(const std::string& sink, const std::vector<std::string>& rcpts,
               std::string_view content, bool* accepted);

// Writes `content` into root/mail/<rcpt>/: tmp/, fsync, link into new/,
// fsync new/, unlink tmp/. The copy is named after the queue file `name`.
Status MaildirDeliver(const Layout& layout, const std::string& rcpt, const std::string& name,
                      std::string_view content, const BugSet& bugs);

}  // namespace refqueue

#endif  // REFQUEUE_HANDOFF_H_
