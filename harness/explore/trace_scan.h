// What a recorded trace says about its own trustworthiness: writes outside
// the crash domain (escapes) and recorder gaps (calls whose effect the
// recorder could not see, e.g. a shared writable mapping).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/target/manifest.h"
#include "model/status.h"

namespace aftershock {

// *escape = the first record flagged as an escape, formatted for people
// ("" when none, or when the trace is unreadable: the error then says why).
// With `root`, the record is shown without seq and pid and with paths
// beside the root as "{root}/..", so that it reads the same in every run.
Status FirstEscape(const std::string& trace_path, std::string* escape,
                   const std::string& root = "");

// One line per path with a recorder gap the manifest does not list as
// rebuilt ([gaps] rebuilt), in trace order: "PATH: WHAT". Paths under
// `root` are shown relative to it.
std::vector<std::string> UnignoredGaps(const std::string& trace_path, const Manifest& manifest,
                                       const std::string& root);

// *escape = the first escape in the trace as FormatOp shows it, leading
// spaces trimmed ("" when none, or when the trace is unreadable: the error
// then says why). Adds to *notes one line per path with a recorder gap
// before it: ignored when the manifest lists the file as rebuilt.
Status FirstEscapeNotingGaps(const std::string& trace_path, const Manifest& manifest,
                             const std::string& root, std::vector<std::string>* notes,
                             std::string* escape);

// The highest seq in the trace (0 when empty or unreadable).
uint64_t LastSeq(const std::string& trace_path);

// "rename queue/tmp/x -> queue/new/x": the first call of `pid` after seq
// `after` (paths under `root` relative to it), the call a pause held back.
std::string CallAfter(const std::string& trace_path, const std::string& root, uint64_t pid,
                      uint64_t after);

}  // namespace aftershock
