// Appending records to the trace from inside the traced process: one
// writev on the O_APPEND trace fd per record, data straight from the
// target's buffers. Async-signal-safe.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <ucontext.h>

#include "injector/modules.h"
#include "model/trace_format.h"

namespace aftershock::inject {

struct Event {
  trace::RecordHeader h{};  // kind, seq, sysno, result, err, fd... set by the caller
  const char* path = nullptr;
  const char* path2 = nullptr;
  const void* data = nullptr;              // h.data_len bytes, or:
  const struct iovec* data_iov = nullptr;  // buffers holding the first h.data_len bytes
  int data_iov_count = 0;
};

// Returns a fresh header for kind with fd/fd2 = -1 and sysno set.
Event NewEvent(trace::OpKind kind, long sysno);

// Takes the next sequence number of the run.
uint64_t NextSeq();

// Fills pid, tid and the call stack (`stack` when given, else found from
// uc when given), seals and appends the record. Returns true iff it was
// written whole.
bool Emit(Event* ev, const ucontext_t* uc, const CallStack* stack = nullptr);

// Appends a gap record: what the recorder could not model. `scope` says
// what the blind spot may have changed (trace::kGapScope*): with
// kGapScopeFile, `path` and dev/ino name that file.
void EmitGap(const char* what, const char* path, size_t path_len, const ucontext_t* uc,
             uint32_t scope = trace::kGapScopeDomain, uint64_t dev = 0, uint64_t ino = 0);

// Sets result/err of ev from a raw kernel result (-errno on failure).
inline void SetResult(Event* ev, long raw) { trace::SetRawResult(&ev->h, raw); }

}  // namespace aftershock::inject
