#define XXH_INLINE_ALL
#include "injector/record.h"

#include <sys/mman.h>

#include "injector/modules.h"
#include "injector/raw.h"
#include "injector/runtime.h"

namespace aftershock::inject {

Event NewEvent(trace::OpKind kind, long sysno) {
  Event ev;
  ev.h.kind = static_cast<uint16_t>(kind);
  ev.h.sysno = static_cast<int32_t>(sysno);
  ev.h.fd = -1;
  ev.h.fd2 = -1;
  return ev;
}

uint64_t NextSeq() { return g_rt.page != nullptr ? TakeSeq(g_rt.page) : 0; }

namespace {

// Encodes stack's callers (frames[1..]) as a record's stack part in buf
// (trace_format.h, StackPart). Returns its length; a caller whose module
// name does not fit ends the stack.
uint32_t StackPartOf(const CallStack& stack, char* buf, size_t cap) {
  if (stack.count <= 1) return 0;
  const CallSite& site = stack.frames[0];
  trace::StackName names[trace::kMaxCallers];
  trace::StackFrame frames[trace::kMaxCallers];
  int count = 0, name_count = 0;
  for (int i = 1; i < stack.count; ++i) {
    const CallSite& f = stack.frames[i];
    uint32_t module = 0;
    if (f.module != site.module) {
      for (int k = 0; k < name_count && module == 0; ++k) {
        if (names[k].data == f.module) module = static_cast<uint32_t>(k) + 1;
      }
      if (module == 0) {
        names[name_count] = {f.module, f.module_len};
        if (trace::StackPartSize(stack.count, names, name_count + 1) > cap) break;
        module = static_cast<uint32_t>(++name_count);
      }
    }
    frames[count++] = {f.offset, module, 0};
  }
  return trace::WriteStackPart(stack.method, frames, count, names, name_count, buf);
}

// Points iov[4..] at the first h.data_len bytes of the event's buffers
// and trims data_len to what they hold. Returns the number of buffers.
int DataIov(Event* ev, struct iovec* iov) {
  if (ev->data_iov == nullptr) {
    if (ev->data == nullptr) ev->h.data_len = 0;
    iov[0] = {const_cast<void*>(ev->data), ev->h.data_len};
    return ev->h.data_len > 0 ? 1 : 0;
  }
  size_t left = ev->h.data_len;
  int n = 0;
  for (int i = 0; i < ev->data_iov_count && left > 0 && n < 1024; ++i) {
    size_t take = ev->data_iov[i].iov_len < left ? ev->data_iov[i].iov_len : left;
    if (take == 0) continue;
    iov[n++] = {ev->data_iov[i].iov_base, take};
    left -= take;
  }
  ev->h.data_len -= static_cast<uint32_t>(left);
  return n;
}

// True iff the trace file reaches `end`, extending it (fallocate, in
// kTraceChunk steps) if not: a copy into the mapping beyond the file's end
// would fault (SIGBUS).
bool Allocated(trace::FileHeader* h, uint64_t end) {
  uint64_t have = __atomic_load_n(&h->allocated, __ATOMIC_ACQUIRE);
  if (end <= have) return true;
  uint64_t want = (end + kTraceChunk - 1) / kTraceChunk * kTraceChunk;
  if (IsErr(Sys(SYS_fallocate, g_rt.trace_fd, 0, have, want - have))) {
    g_rt.trace_window = 0;  // this file system cannot: pwritev from now on
    return false;
  }
  // Map the new pages now, in one call, rather than by a page fault per
  // page on the first copy into each (ignored where the kernel cannot).
  uint64_t from = have;
  if (want <= g_rt.trace_window) {
    Sys(SYS_madvise, reinterpret_cast<long>(h) + static_cast<long>(from), want - from,
        MADV_POPULATE_WRITE);
  }
  while (have < want && !__atomic_compare_exchange_n(&h->allocated, &have, want, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
  }
  return true;
}

// Copies a sealed record into its reserved bytes at dst, its magic last: a
// writer killed before that leaves a hole readers skip (trace_format.h).
void CopyRecord(char* dst, const struct iovec* iov, int count) {
  const char* head = static_cast<const char*>(iov[0].iov_base);
  uint32_t magic;
  __builtin_memcpy(&magic, head, sizeof magic);
  __builtin_memcpy(dst + sizeof magic, head + sizeof magic, iov[0].iov_len - sizeof magic);
  size_t at = iov[0].iov_len;
  for (int i = 1; i < count; ++i) {
    if (iov[i].iov_len == 0) continue;  // an absent part: its base may be null
    __builtin_memcpy(dst + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  __atomic_signal_fence(__ATOMIC_SEQ_CST);  // x86 keeps stores in order: the magic lands last
  __builtin_memcpy(dst, &magic, sizeof magic);
}

// Writes a sealed record of `size` bytes (iov[0..count)) into the trace:
// into bytes reserved from its tail, copied through the mapping when they
// lie in it, else with one pwritev; an older trace is appended to.
bool WriteRecord(const struct iovec* iov, int count, uint64_t size) {
  trace::FileHeader* h = g_rt.trace_header;
  long w;
  if (h == nullptr) {
    w = Sys(SYS_writev, g_rt.trace_fd, A(iov), count);
  } else {
    uint64_t at = trace::ReserveRecord(h, size);
    if (at + size <= g_rt.trace_window && Allocated(h, at + size)) {
      CopyRecord(reinterpret_cast<char*>(h) + at, iov, count);
      return true;
    }
    w = Sys(SYS_pwritev, g_rt.trace_fd, A(iov), count, static_cast<long>(at), 0);
  }
  return !IsErr(w) && static_cast<uint64_t>(w) == size;
}

}  // namespace

bool Emit(Event* ev, const ucontext_t* uc, const CallStack* given) {
  if (g_rt.trace_fd < 0) return false;
  if (ev->h.pid == 0) ev->h.pid = CurrentPid();
  if (ev->h.tid == 0) ev->h.tid = CurrentTid();
  if (ev->h.seq == 0) ev->h.seq = NextSeq();
  ThreadBuf* b = Buf();
  CallStack found;
  const CallStack& stack = given != nullptr ? *given : found;
  const char* module = "";
  ev->h.module_len = 0;
  ev->h.stack_len = 0;
  if (given != nullptr ? given->count > 0 : uc != nullptr && FindCallStack(uc, &found)) {
    ev->h.call_addr = stack.frames[0].addr;
    ev->h.call_offset = stack.frames[0].offset;
    ev->h.module_len = stack.frames[0].module_len;
    module = stack.frames[0].module;
    if (b != nullptr) ev->h.stack_len = StackPartOf(stack, b->stack_part, sizeof b->stack_part);
  }
  if (ev->path == nullptr) ev->h.path_len = 0;
  if (ev->path2 == nullptr) ev->h.path2_len = 0;
  struct iovec local[6];
  struct iovec* iov = b != nullptr ? b->iov : local;
  if (b == nullptr) ev->data_iov = nullptr;  // one buffer fits `local`
  // SealRecordIov copies data[i] into iov[4 + i]: the same slots, in order.
  int n = DataIov(ev, iov + 4);
  trace::SealRecordIov(&ev->h, ev->path, ev->path2, module, iov + 4, n,
                       b != nullptr ? b->stack_part : nullptr, iov);
  return WriteRecord(iov, 5 + n, ev->h.size);
}

void EmitGap(const char* what, const char* path, size_t path_len, const ucontext_t* uc,
             uint32_t scope, uint64_t dev, uint64_t ino) {
  Event ev = NewEvent(trace::OpKind::kGap, -1);
  ev.h.mode = scope;
  ev.h.dev = dev;
  ev.h.ino = ino;
  ev.path = path;
  ev.h.path_len = static_cast<uint32_t>(path_len);
  ev.data = what;
  ev.h.data_len = static_cast<uint32_t>(StrLen(what));
  Emit(&ev, uc);
}

}  // namespace aftershock::inject
