#define XXH_INLINE_ALL
#include "injector/record.h"

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

bool Emit(Event* ev, const ucontext_t* uc) {
  if (g_rt.trace_fd < 0) return false;
  if (ev->h.pid == 0) ev->h.pid = CurrentPid();
  if (ev->h.tid == 0) ev->h.tid = CurrentTid();
  if (ev->h.seq == 0) ev->h.seq = NextSeq();
  CallSite site;
  if (uc != nullptr && FindCallSite(uc, &site)) {
    ev->h.call_addr = site.addr;
    ev->h.call_offset = site.offset;
    ev->h.module_len = site.module_len;
  } else {
    site.module = "";
    ev->h.module_len = 0;
  }
  if (ev->path == nullptr) ev->h.path_len = 0;
  if (ev->path2 == nullptr) ev->h.path2_len = 0;
  ThreadBuf* b = Buf();
  struct iovec local[5 + 1];
  struct iovec* iov = b != nullptr ? b->iov : local;
  int count = 4;
  if (ev->data_iov != nullptr && b != nullptr) {
    // Only the first data_len bytes of the buffers are part of the record.
    size_t left = ev->h.data_len;
    int n = 0;
    for (int i = 0; i < ev->data_iov_count && left > 0 && n < 1024; ++i) {
      size_t take = ev->data_iov[i].iov_len < left ? ev->data_iov[i].iov_len : left;
      if (take == 0) continue;
      iov[4 + n] = {ev->data_iov[i].iov_base, take};
      left -= take;
      ++n;
    }
    ev->h.data_len -= static_cast<uint32_t>(left);
    struct iovec* data = iov + 4;
    // SealRecordIov copies data[i] into iov[4 + i]: the same slots, in order.
    trace::SealRecordIov(&ev->h, ev->path, ev->path2, site.module, data, n, iov);
    count = 4 + n;
  } else {
    if (ev->data == nullptr) ev->h.data_len = 0;
    struct iovec one = {const_cast<void*>(ev->data), ev->h.data_len};
    trace::SealRecordIov(&ev->h, ev->path, ev->path2, site.module, &one, ev->h.data_len > 0 ? 1 : 0,
                         iov);
    count = ev->h.data_len > 0 ? 5 : 4;
  }
  long w = Sys(SYS_writev, g_rt.trace_fd, A(iov), count);
  return !IsErr(w) && static_cast<uint64_t>(w) == ev->h.size;
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
