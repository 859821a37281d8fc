// What a recorded trace says about its own trustworthiness: writes outside
// the crash domain (escapes) and recorder gaps (calls whose effect the
// recorder could not see, e.g. a shared writable mapping).
#pragma once

#include <string>
#include <vector>

#include "harness/manifest.h"

namespace aftershock {

// The first record flagged as an escape, formatted for people ("" when
// none, or when the trace is unreadable: *error then says why). With
// `root`, the record is shown without seq and pid and with paths beside
// the root as "{root}/..", so that it reads the same in every run.
std::string FirstEscape(const std::string& trace_path, std::string* error,
                        const std::string& root = "");

// One line per path with a recorder gap the manifest does not list as
// rebuilt ([gaps] rebuilt), in trace order: "PATH: WHAT". Paths under
// `root` are shown relative to it.
std::vector<std::string> UnignoredGaps(const std::string& trace_path, const Manifest& manifest,
                                       const std::string& root);

}  // namespace aftershock
