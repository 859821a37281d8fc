// Creating a trace and appending to it from outside the traced processes
// (the launcher, the harness's markers, the sink).
#pragma once

#include <string>

#include "model/trace.h"

namespace aftershock {

// Creates (truncating) the trace at `path` with its file header, and its
// sequence file `<path>.seq` with the counter at 1. The first record is a
// kMeta: path = root (may be empty), data "umask=0" (the recorder writes the
// modes files actually got) plus the `meta` lines.
// Returns false and sets *error on failure.
bool CreateTrace(const std::string& path, std::string* error, const std::string& root = "",
                 const std::string& meta = "");

// True iff `path` exists and is a trace with a sequence file beside it.
bool TraceExists(const std::string& path);

// Appends one record to the trace, giving it the next sequence number of
// the run (op.seq is overwritten; pid/tid default to this process's).
// Returns the seq, or 0 on failure (with *error set when given).
uint64_t AppendRecord(const std::string& trace_path, Op op, std::string* error = nullptr);

}  // namespace aftershock
