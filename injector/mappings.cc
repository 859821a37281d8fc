// Shared writable mappings: shadows, capture, and the table that holds them.
#include "injector/mappings.h"

#include <sys/mman.h>
#include <sys/uio.h>

#include "injector/dispatch.h"
#include "injector/raw.h"
#include "injector/record.h"

namespace aftershock::inject {
namespace {

constexpr int kMaxMaps = 32;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxShadowBytes = 256ull << 20;  // per process: bounds memory and time

struct MapSlot {
  uint64_t addr;
  uint64_t len;  // a multiple of kPage
  int64_t file_off;
  uint64_t dev;
  uint64_t ino;
  char* shadow;  // len bytes: the content as last recorded
  bool escape;
  uint32_t path_len;
  char path[kPathCap];
};

struct MapTable {
  int count;
  uint64_t bytes;
  MapSlot slots[kMaxMaps];
};

MapTable* g_maps;  // mmap'd at the first tracked mapping; a fork copies it
int g_map_lock;

void Lock() {
  while (__atomic_exchange_n(&g_map_lock, 1, __ATOMIC_ACQUIRE) != 0) __builtin_ia32_pause();
}
void Unlock() { __atomic_store_n(&g_map_lock, 0, __ATOMIC_RELEASE); }

bool Active() { return g_maps != nullptr && g_maps->count > 0 && OwnsCaches(); }

// Reads up to kChunkPages pages of this process's memory at addr into out.
// process_vm_readv, not a load: a page of a file mapping beyond the end of
// the file raises SIGBUS when touched, and here it just ends the read.
// Returns the number of whole pages read.
uint64_t ReadPages(uint64_t addr, uint64_t pages, char* out) {
  if (pages > kChunkPages) pages = kChunkPages;
  if (pages == 0) return 0;
  struct iovec local = {out, pages * kPage};
  struct iovec remote[kChunkPages];
  for (uint64_t i = 0; i < pages; ++i) {
    remote[i] = {reinterpret_cast<void*>(addr + i * kPage), kPage};
  }
  long n =
      Sys(SYS_process_vm_readv, CurrentPid(), A(&local), 1, A(remote), static_cast<long>(pages), 0);
  return IsErr(n) ? 0 : static_cast<uint64_t>(n) / kPage;
}

// Records the changed bytes of one page (now vs shadow) as one write, from
// the first to the last byte that differs, and takes them into the shadow.
void CapturePage(MapSlot& m, uint64_t at, const char* now, long sysno, const ucontext_t* uc) {
  char* old = m.shadow + at;
  if (__builtin_memcmp(now, old, kPage) == 0) return;
  uint64_t first = 0, last = kPage - 1;
  while (now[first] == old[first]) ++first;
  while (now[last] == old[last]) --last;
  Event ev = NewEvent(trace::OpKind::kWrite, sysno);
  ev.h.flags = trace::kFlagMapped | (m.escape ? trace::kFlagEscape : 0);
  ev.h.dev = m.dev;
  ev.h.ino = m.ino;
  ev.path = m.path;
  ev.h.path_len = m.path_len;
  ev.h.offset = m.file_off + static_cast<int64_t>(at + first);
  ev.h.length = last - first + 1;
  ev.h.result = static_cast<int64_t>(ev.h.length);
  ev.data = now + first;
  ev.h.data_len = static_cast<uint32_t>(ev.h.length);
  Emit(&ev, uc);
  MemCopy(old + first, now + first, last - first + 1);
}

void CaptureSlot(MapSlot& m, long sysno, const ucontext_t* uc, char* chunk) {
  for (uint64_t at = 0; at < m.len;) {
    uint64_t got = ReadPages(m.addr + at, (m.len - at) / kPage, chunk);
    for (uint64_t i = 0; i < got; ++i) CapturePage(m, at + i * kPage, chunk + i * kPage, sysno, uc);
    if (got < kChunkPages) return;  // the rest lies beyond the end of the file
    at += got * kPage;
  }
}

void RemoveSlot(int i) {
  MapSlot& m = g_maps->slots[i];
  Sys(SYS_munmap, A(m.shadow), static_cast<long>(m.len));
  g_maps->bytes -= m.len;
  if (i != g_maps->count - 1) MemCopy(&m, &g_maps->slots[g_maps->count - 1], sizeof m);
  --g_maps->count;
}

// True iff process_vm_readv works on this process (a seccomp filter may
// refuse it): without it, stores cannot be read safely, and the caller
// records a gap instead.
bool CanReadSelf() {
  static int known;  // 0 unknown, 1 yes, 2 no
  if (known == 0) {
    uint64_t probe = 1, copy = 0;
    struct iovec local = {&copy, sizeof copy};
    struct iovec remote = {&probe, sizeof probe};
    long n = Sys(SYS_process_vm_readv, CurrentPid(), A(&local), 1, A(&remote), 1, 0);
    known = n == static_cast<long>(sizeof copy) && copy == 1 ? 1 : 2;
  }
  return known == 1;
}

}  // namespace

bool TrackMapping(uint64_t addr, uint64_t len, const FdSlot* s, int64_t file_off) {
  if (!OwnsCaches() || !CanReadSelf()) return false;
  len = (len + kPage - 1) / kPage * kPage;
  if (g_maps == nullptr) {
    long t = Sys(SYS_mmap, 0, sizeof(MapTable), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    if (IsErr(t)) return false;
    g_maps = reinterpret_cast<MapTable*>(t);
  }
  if (g_maps->count == kMaxMaps || g_maps->bytes + len > kMaxShadowBytes) return false;
  long sh = Sys(SYS_mmap, 0, static_cast<long>(len), PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (IsErr(sh)) return false;
  Lock();
  MapSlot& m = g_maps->slots[g_maps->count++];
  g_maps->bytes += len;
  m.addr = addr;
  m.len = len;
  m.file_off = file_off;
  m.dev = s->dev;
  m.ino = s->ino;
  m.shadow = reinterpret_cast<char*>(sh);
  m.path_len = s->path_len;
  MemCopy(m.path, s->path, s->path_len);
  m.escape = IsEscape(m.path, m.path_len);
  // The shadow starts as the file's content (zeros beyond its end).
  for (uint64_t at = 0; at < len;) {
    uint64_t got = ReadPages(addr + at, (len - at) / kPage, m.shadow + at);
    if (got < kChunkPages) break;
    at += got * kPage;
  }
  Unlock();
  return true;
}

void CaptureMappings(long sysno, const ucontext_t* uc) {
  if (!Active()) return;
  ThreadBuf* b = Buf();
  if (b == nullptr) return;
  Lock();
  for (int i = 0; i < g_maps->count; ++i) CaptureSlot(g_maps->slots[i], sysno, uc, b->map_chunk);
  Unlock();
}

bool UntrackRange(uint64_t addr, uint64_t len, const ucontext_t* uc) {
  if (!Active()) return false;
  const uint64_t end = addr + (len + kPage - 1) / kPage * kPage;
  bool cut = false;
  Lock();
  for (int i = g_maps->count - 1; i >= 0; --i) {
    MapSlot& m = g_maps->slots[i];
    const uint64_t m_end = m.addr + m.len;
    if (end <= m.addr || addr >= m_end) continue;
    if (addr <= m.addr && end >= m_end) {
      RemoveSlot(i);
    } else if (addr <= m.addr) {  // the head goes
      const uint64_t drop = end - m.addr;
      Sys(SYS_munmap, A(m.shadow), static_cast<long>(drop));
      m.shadow += drop;
      m.addr = end;
      m.file_off += static_cast<int64_t>(drop);
      m.len -= drop;
      g_maps->bytes -= drop;
    } else if (end >= m_end) {  // the tail goes
      const uint64_t drop = m_end - addr;
      Sys(SYS_munmap, A(m.shadow + (m.len - drop)), static_cast<long>(drop));
      m.len -= drop;
      g_maps->bytes -= drop;
    } else {
      EmitGap("munmap cut a shared file mapping in two: stores through its tail are not recorded",
              m.path, m.path_len, uc, trace::kGapScopeFile, m.dev, m.ino);
      RemoveSlot(i);
      cut = true;
    }
  }
  Unlock();
  return cut;
}

bool FindMapping(uint64_t addr, MappedFile* out) {
  if (!Active()) return false;
  for (int i = 0; i < g_maps->count; ++i) {
    const MapSlot& m = g_maps->slots[i];
    if (addr < m.addr || addr >= m.addr + m.len) continue;
    *out = {m.dev,
            m.ino,
            m.file_off + static_cast<int64_t>(addr - m.addr),
            m.addr + m.len - addr,
            m.path,
            m.path_len,
            m.escape};
    return true;
  }
  return false;
}

void RefreshShadows(uint64_t dev, uint64_t ino, int64_t off, uint64_t len) {
  if (!Active() || len == 0 || off < 0) return;
  ThreadBuf* b = Buf();
  if (b == nullptr) return;
  Lock();
  for (int i = 0; i < g_maps->count; ++i) {
    MapSlot& m = g_maps->slots[i];
    if (m.dev != dev || m.ino != ino) continue;
    const int64_t lo = off > m.file_off ? off : m.file_off;
    const int64_t m_end = m.file_off + static_cast<int64_t>(m.len);
    const int64_t hi =
        off + static_cast<int64_t>(len) < m_end ? off + static_cast<int64_t>(len) : m_end;
    for (int64_t at = lo; at < hi;) {
      const uint64_t rel = static_cast<uint64_t>(at - m.file_off);
      const uint64_t page = rel / kPage * kPage;
      if (ReadPages(m.addr + page, 1, b->map_chunk) != 1) break;
      const uint64_t stop = page + kPage < static_cast<uint64_t>(hi - m.file_off)
                                ? page + kPage
                                : static_cast<uint64_t>(hi - m.file_off);
      MemCopy(m.shadow + rel, b->map_chunk + (rel - page), stop - rel);
      at = m.file_off + static_cast<int64_t>(stop);
    }
  }
  Unlock();
}

void ResetMappingLock() { g_map_lock = 0; }

}  // namespace aftershock::inject
