// Hands one copy of a message to the delivery sink (TARGET-CONTRACT.md,
// "Delivery"): `{sink} RCPT... < message`.
#pragma once

#include <string>
#include <vector>

#include "targets/sqlite/status.h"

namespace aftershock::sqlite_queue {

// Runs `/bin/sh -c 'exec SINK "$@"' aftershock-sink RCPT...` with `message`
// on its stdin, so that SINK may carry its own arguments as it could in a
// manifest. Ok iff the sink exited 0, i.e. accepted the copy.
// REQUIRES: SIGPIPE is ignored (a sink may exit without reading everything).
Status RunSink(const std::string& sink, const std::vector<std::string>& rcpts,
               const std::string& message);

}  // namespace aftershock::sqlite_queue
