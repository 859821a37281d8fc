// Traces in memory: one Op per record, a streaming reader, and a writer for
// the harness and tests (the injector writes with trace_format.h directly).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "model/trace_format.h"

namespace aftershock {

using trace::OpKind;

// A caller of a recorded call: a return address relative to its module.
struct StackFrame {
  std::string module;
  uint64_t offset = 0;
  bool operator==(const StackFrame&) const = default;
};

// One recorded call or event. Field meanings per kind: model/trace_format.h.
struct Op {
  OpKind kind = OpKind::kInvalid;
  uint16_t flags = 0;
  uint64_t seq = 0;
  int32_t sysno = -1;
  int32_t pid = 0;
  int32_t tid = 0;
  int64_t result = 0;
  int32_t err = 0;
  int32_t fd = -1;
  int32_t fd2 = -1;
  uint32_t oflags = 0;
  uint32_t mode = 0;
  int64_t offset = 0;
  uint64_t length = 0;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t call_addr = 0;
  uint64_t call_offset = 0;
  std::string path;
  std::string path2;
  std::string module;
  std::string data;
  // The call site's callers, innermost first (frame 0 is module+call_offset),
  // and how the recorder found them (trace::kStack*; 0 = none recorded).
  std::vector<StackFrame> callers;
  uint8_t stack_method = 0;

  bool Failed() const { return result < 0; }
  bool Has(uint16_t flag) const { return (flags & flag) != 0; }
};

// A whole trace, ops ordered by seq.
struct Trace {
  uint32_t version = trace::kVersion;
  std::vector<Op> ops;
};

// Result of reading: an error names the file and byte offset.
struct TraceError {
  std::string message;  // "trace.bin: byte 1234: bad record checksum"
};

// Reads records one at a time without holding the trace in memory.
// A record whose writer was killed before it finished (a hole: its magic,
// stored last, is zero) is skipped, and a truncated last record ends the
// stream cleanly; anything else malformed is an error.
class TraceReader {
 public:
  // Opens `path` and checks its header. On failure, Error() says why.
  explicit TraceReader(const std::string& path);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& Error() const { return error_; }
  uint32_t version() const { return version_; }
  // True iff the stream ended in a partial record (the writer was killed).
  bool truncated_tail() const { return truncated_tail_; }
  // Records skipped because their writer was killed before it finished them.
  int holes() const { return holes_; }

  // The next record in file order, or nullopt at the end or on error.
  std::optional<Op> Next();

 private:
  std::string path_;
  // Moves to the next intact record after the hole at offset_. False: none.
  bool SkipHole();
  bool IntactAt(uint64_t at);

  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
  uint64_t end_ = 0;  // the file's size, or its tail when it has one
  int holes_ = 0;
  uint32_t version_ = 0;
  bool truncated_tail_ = false;
  std::string error_;
  std::vector<char> buf_;
};

// Reads a whole trace and orders it by seq. Returns nullopt and sets *error
// on a malformed trace.
std::optional<Trace> ReadTrace(const std::string& path, TraceError* error);

// Appends records to a trace file (harness markers, tests, converters),
// beside any other writer: each record's bytes are reserved from the
// header's tail (trace_format.h).
class TraceWriter {
 public:
  // Creates or opens `path`; writes the file header when it is empty.
  explicit TraceWriter(const std::string& path);
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  bool ok() const { return fd_ >= 0 && error_.empty(); }
  const std::string& Error() const { return error_; }
  // Appends one record with one write. Returns false on error.
  bool Append(const Op& op);
  // Appends one encoded record (EncodeRecord). Returns false on error.
  bool AppendEncoded(const std::string& record);
  // fsync of the trace file.
  bool Sync();

 private:
  int fd_ = -1;
  trace::FileHeader* header_ = nullptr;  // mapped; null for a legacy (O_APPEND) trace
  std::string error_;
};

// Encodes an Op into the on-disk record (header + parts), for tests.
std::string EncodeRecord(const Op& op);

// One line, strace-like: "41  [pid 7] rename("/r/a", "/r/b") = 0".
std::string FormatOp(const Op& op);

}  // namespace aftershock
