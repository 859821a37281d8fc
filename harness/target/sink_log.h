// The sink log: every copy the sink accepted, outside the crash domain.
// One record per copy, appended with one write(2) on an O_APPEND fd:
//   "AFTERSHOCK-SINK <bytes> <xxh64-hex> <rcpt> [<rcpt>...]\n" <bytes> "\n"
// A record cut short (the sink was killed mid-append) is ignored by readers:
// the sink never reported it accepted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aftershock {

struct SinkRecord {
  std::vector<std::string> rcpts;
  std::string hash;  // xxh64 hex of copy
  std::string copy;
};

// The record's bytes, as the sink appends them.
std::string EncodeSinkRecord(const std::vector<std::string>& rcpts, std::string_view copy);

// Reads every complete record of the log at `path` (a missing file is empty).
// Returns false iff the file exists and cannot be read.
bool ReadSinkLog(const std::string& path, std::vector<SinkRecord>* out);

// Number of complete records, for the drain loop.
size_t CountSinkRecords(const std::string& path);

}  // namespace aftershock
