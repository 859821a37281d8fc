// Markers in the trace (see docs/trace-format.md, "Marks"): events that are
// not file-system calls, placed in the run's total order by the shared
// sequence counter. Used by the harness (step, ack, exit) and by the sink.
// Safe to call inside a traced process: the recorder never records its own
// trace file.
#pragma once

#include <string>
#include <string_view>

namespace aftershock {

// Appends a kMark record (path = label, data = payload) with the next
// sequence number. Returns true iff it was written.
bool AppendMark(const std::string& trace_path, std::string_view label, std::string_view data);

}  // namespace aftershock
