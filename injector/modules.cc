#include "injector/modules.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "injector/raw.h"
#include "injector/runtime.h"

extern "C" void* __libc_stack_end;  // ld.so: the stack pointer at the program's entry

namespace aftershock::inject {
namespace {

constexpr int kMaxModules = 256;
constexpr size_t kPoolSize = 32768;
constexpr size_t kMapsBufSize = 1 << 20;
constexpr int kScanWords = 4096;

struct Module {
  uint64_t start;
  uint64_t end;
  uint64_t bias;  // subtracted from an address to get the module-relative offset
  uint32_t path_off;
  uint32_t path_len;
  uint64_t image;         // where the ELF header is mapped (file offset 0), or 0
  uint64_t eh_hdr;        // .eh_frame_hdr: its search table holds every function's start
  uint32_t eh_count;      // entries in that table (0: function starts unknown)
  uint32_t eh_table_off;  // the table's offset from eh_hdr
};

constexpr int kMaxReadable = 1024;

struct Range {
  uint64_t start;
  uint64_t end;
  bool code;     // also executable, not writable
  bool runtime;  // of a runtime library (IsRuntimeModule)
};

struct ModuleMap {
  uint64_t lo;    // mods[0].start
  uint64_t span;  // mods[count - 1].end - lo (0: no module)
  int count;
  Module mods[kMaxModules];
  int readable_count;  // readable mappings of files, ascending (a PLT stub's GOT slot is in one)
  Range readable[kMaxReadable];
  char pool[kPoolSize];
  uint64_t main_stack_top;
};

// Two maps: readers use the current one while a rebuild fills the other.
ModuleMap* g_maps[2] = {nullptr, nullptr};
int g_current = 0;
uint64_t g_generation = 0;  // bumped by every rebuild
int g_rebuilding = 0;
char* g_maps_buf = nullptr;

AFTERSHOCK_TLS uint64_t t_stack_top;
AFTERSHOCK_TLS uint64_t t_shared_child_stack_top;

// True iff the bytes before ret end in a call instruction.
bool AfterCall(uint64_t ret, uint64_t lo) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(ret);
  if (ret - 5 >= lo && p[-5] == 0xe8) return true;                            // call rel32
  if (ret - 6 >= lo && p[-6] == 0xff && p[-5] == 0x15) return true;           // call *disp32(%rip)
  if (ret - 2 >= lo && p[-2] == 0xff && (p[-1] & 0xf8) == 0xd0) return true;  // call *%reg
  if (ret - 3 >= lo && p[-3] == 0xff && (p[-2] & 0xf8) == 0x50) return true;  // call *d8(%reg)
  if (ret - 3 >= lo && p[-3] == 0x41 && p[-2] == 0xff && (p[-1] & 0xf8) == 0xd0) return true;
  if (ret - 6 >= lo && p[-6] == 0xff && (p[-5] & 0xf8) == 0x90) return true;  // call *d32(%reg)
  if (ret - 4 >= lo && p[-4] == 0xff && (p[-3] & 0xf8) == 0x50) return true;  // with SIB
  return false;
}

// The top of the main thread's frames: the stack pointer the program
// started with (ld.so's __libc_stack_end: argc, with argv, the environment
// and the auxiliary vector above it, kilobytes that hold no frame), when it
// lies in the [stack] mapping, else the mapping's end.
uint64_t MainFramesTop(const MapsLine& stack) {
  uint64_t entry = reinterpret_cast<uint64_t>(__libc_stack_end);
  return entry > stack.start && entry < stack.end ? entry : stack.end;
}

// Called for every word of the stack a call's callers are searched in, so
// most addresses miss: they are rejected by the modules' overall bounds
// (one compare) before a binary search (mods are ascending, as
// /proc/self/maps lists them).
inline const Module* FindModule(const ModuleMap* m, uint64_t addr) {
  if (addr - m->lo >= m->span) return nullptr;
  int lo = 0, hi = m->count;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (m->mods[mid].end <= addr) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < m->count && addr >= m->mods[lo].start ? &m->mods[lo] : nullptr;
}

// True iff [addr, addr + len) lies in one readable file mapping.
bool ReadableSpan(const ModuleMap* m, uint64_t addr, uint64_t len, bool runtime_code = false) {
  int lo = 0, hi = m->readable_count;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (m->readable[mid].end <= addr) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < m->readable_count && m->readable[lo].start <= addr &&
         addr + len <= m->readable[lo].end &&
         (!runtime_code || (m->readable[lo].code && m->readable[lo].runtime));
}

// Finds mod's .eh_frame_hdr (PT_GNU_EH_FRAME) and its binary-search table
// of function starts, when it has the usual encoding (u32 count, entries
// of two s32 relative to the header).
void FindFunctionTable(const ModuleMap* m, Module* mod) {
  constexpr uint32_t kPtGnuEhFrame = 0x6474e550;
  mod->eh_count = 0;
  if (mod->image == 0 || !ReadableSpan(m, mod->image, 64)) return;
  const unsigned char* elf = reinterpret_cast<const unsigned char*>(mod->image);
  uint64_t phoff;
  uint16_t phentsize, phnum, type;
  MemCopy(&type, elf + 16, 2);
  MemCopy(&phoff, elf + 32, 8);
  MemCopy(&phentsize, elf + 54, 2);
  MemCopy(&phnum, elf + 56, 2);
  if (phentsize < 56 || !ReadableSpan(m, mod->image + phoff, uint64_t{phentsize} * phnum)) return;
  uint64_t load = type == 2 /* ET_EXEC */ ? 0 : mod->image;
  for (uint16_t i = 0; i < phnum; ++i) {
    const unsigned char* ph = elf + phoff + uint64_t{phentsize} * i;
    uint32_t p_type;
    uint64_t vaddr;
    MemCopy(&p_type, ph, 4);
    MemCopy(&vaddr, ph + 16, 8);
    if (p_type != kPtGnuEhFrame) continue;
    uint64_t hdr = load + vaddr;
    if (!ReadableSpan(m, hdr, 12)) return;
    const unsigned char* h = reinterpret_cast<const unsigned char*>(hdr);
    // version 1; eh_frame_ptr any; fde_count udata4; table datarel|sdata4.
    if (h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b) return;
    int skip = (h[1] & 0x0f) == 0x0b || (h[1] & 0x0f) == 0x03 ? 4 : (h[1] & 0x0f) == 0 ? 8 : -1;
    if (skip < 0) return;
    uint32_t count;
    MemCopy(&count, h + 4 + skip, 4);
    if (!ReadableSpan(m, hdr + 8 + skip, uint64_t{count} * 8)) return;
    mod->eh_hdr = hdr;
    mod->eh_count = count;
    mod->eh_table_off = static_cast<uint32_t>(8 + skip);
    return;
  }
}

// The start of the function holding addr (from mod's function table), or
// 0 when unknown.
uint64_t FunctionStart(const Module* mod, uint64_t addr) {
  if (mod->eh_count == 0) return 0;
  const unsigned char* table =
      reinterpret_cast<const unsigned char*>(mod->eh_hdr) + mod->eh_table_off;
  auto start = [&](uint32_t i) {
    int32_t rel;
    MemCopy(&rel, table + uint64_t{i} * 8, 4);
    return mod->eh_hdr + static_cast<int64_t>(rel);
  };
  uint32_t lo = 0, hi = mod->eh_count;  // the last entry whose start <= addr
  while (hi - lo > 1) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (start(mid) <= addr) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  uint64_t s = start(lo);
  if (s > addr) return 0;
  // The function's length, from its FDE (length, CIE pointer, pc_begin,
  // pc_range, as GCC writes them: 4-byte encodings). An address past it is
  // in no function the table knows (a cgo program's Go code, which has no
  // FDEs): 0, not the C function before it.
  int32_t fde_rel;
  MemCopy(&fde_rel, table + uint64_t{lo} * 8 + 4, 4);
  const unsigned char* fde = reinterpret_cast<const unsigned char*>(mod->eh_hdr + fde_rel);
  uint32_t length, range;
  MemCopy(&length, fde, 4);
  MemCopy(&range, fde + 12, 4);
  if (length != 0xffffffffu && length >= 12 && addr - s >= range) return 0;
  return s;
}

}  // namespace

void SetStackTop(uint64_t top) { t_stack_top = top; }

void SetSharedChildStackTop(uint64_t top) { t_shared_child_stack_top = top; }

namespace {

// Maps the two module maps and the read buffer, g_maps[0] last: readers
// take a non-null g_maps[0] for "ready". REQUIRES: g_rebuilding held.
bool MapModuleMaps() {
  void* maps[2];
  for (void*& m : maps) {
    long r = Sys(SYS_mmap, 0, sizeof(ModuleMap), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (IsErr(r)) return false;
    m = reinterpret_cast<void*>(r);
  }
  long r =
      Sys(SYS_mmap, 0, kMapsBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (IsErr(r)) return false;
  g_maps_buf = reinterpret_cast<char*>(r);
  g_maps[1] = static_cast<ModuleMap*>(maps[1]);
  __atomic_store_n(&g_maps[0], static_cast<ModuleMap*>(maps[0]), __ATOMIC_RELEASE);
  return true;
}

}  // namespace

void RebuildModules() {
  // The first time too, one thread only: threads that started together
  // once all recorded their first call at once, and one saw g_maps[0] set
  // while another was still mapping g_maps[1] (a null map: SIGSEGV).
  if (__atomic_exchange_n(&g_rebuilding, 1, __ATOMIC_ACQUIRE) != 0) return;
  if (g_maps[0] == nullptr && !MapModuleMaps()) {
    __atomic_store_n(&g_rebuilding, 0, __ATOMIC_RELEASE);
    return;
  }
  g_rt.modules_dirty = false;
  long fd = Sys(SYS_open, A("/proc/self/maps"), O_RDONLY | O_CLOEXEC);
  size_t used = 0;
  if (!IsErr(fd)) {
    for (;;) {
      long got = Sys(SYS_read, fd, A(g_maps_buf + used), kMapsBufSize - used);
      if (got <= 0) break;
      used += static_cast<size_t>(got);
      if (used == kMapsBufSize) break;
    }
    Sys(SYS_close, fd);
  }
  ModuleMap* m = g_maps[1 - g_current];
  m->count = 0;
  m->readable_count = 0;
  m->main_stack_top = g_maps[g_current]->main_stack_top;
  size_t pool = 0;
  size_t i = 0;
  uint64_t last_base = 0;
  const char* last_base_path = nullptr;
  size_t last_base_path_len = 0;
  while (i < used) {
    size_t start = i;
    while (i < used && g_maps_buf[i] != '\n') ++i;
    MapsLine l;
    if (ParseMapsLine(g_maps_buf + start, i - start, &l)) {
      if (l.offset == 0 && l.read && l.path_len > 0) {
        last_base = l.start;
        last_base_path = l.path;
        last_base_path_len = l.path_len;
      }
      if (l.path_len == 7 && MemEq(l.path, "[stack]", 7)) m->main_stack_top = MainFramesTop(l);
      if (l.read && l.path_len > 0 && l.path[0] == '/' && m->readable_count < kMaxReadable) {
        m->readable[m->readable_count++] = {l.start, l.end, l.exec && !l.write,
                                            IsRuntimeModule(l.path, l.path_len)};
      }
      // FindModule's binary search needs mods ascending; maps lists them so.
      bool ascending = m->count == 0 || m->mods[m->count - 1].end <= l.start;
      if (l.exec && l.path_len > 0 && l.path[0] == '/' && m->count < kMaxModules && ascending &&
          !IsRuntimeModule(l.path, l.path_len) && pool + l.path_len <= kPoolSize) {
        Module& mod = m->mods[m->count++];
        mod.start = l.start;
        mod.end = l.end;
        // The load bias: the start of the mapping of file offset 0, which
        // for PIE objects and shared libraries is what addr2line subtracts.
        mod.bias = l.start - l.offset;
        mod.image = 0;
        mod.eh_count = 0;
        if (last_base_path_len == l.path_len && MemEq(last_base_path, l.path, l.path_len)) {
          mod.image = last_base;
        }
        mod.path_off = static_cast<uint32_t>(pool);
        mod.path_len = static_cast<uint32_t>(l.path_len);
        MemCopy(m->pool + pool, l.path, l.path_len);
        pool += l.path_len;
        // A non-PIE executable (ET_EXEC) is linked at its run address.
        if (last_base_path_len == l.path_len && MemEq(last_base_path, l.path, l.path_len) &&
            last_base == mod.bias &&
            *reinterpret_cast<const uint16_t*>(last_base + 16) == 2 /* ET_EXEC */) {
          mod.bias = 0;
        }
      }
    }
    ++i;
  }
  m->lo = m->count > 0 ? m->mods[0].start : 0;
  m->span = m->count > 0 ? m->mods[m->count - 1].end - m->lo : 0;
  for (int k = 0; k < m->count; ++k) FindFunctionTable(m, &m->mods[k]);
  __atomic_store_n(&g_current, 1 - g_current, __ATOMIC_RELEASE);
  __atomic_add_fetch(&g_generation, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&g_rebuilding, 0, __ATOMIC_RELEASE);
}

namespace {

constexpr uint64_t kMaxFunctionBytes = 256
                                       << 10;  // a callee this far past a call target is not its

void SetFrame(const ModuleMap* m, const Module* mod, uint64_t addr, CallSite* f) {
  f->addr = addr;
  f->offset = addr - mod->bias;
  f->module = m->pool + mod->path_off;
  f->module_len = mod->path_len;
}

// The function a PLT stub at `target` jumps to (through its GOT slot), or
// 0 when the bytes there are not a PLT stub.
uint64_t PltTarget(const ModuleMap* m, uint64_t target) {
  const unsigned char* t = reinterpret_cast<const unsigned char*>(target);
  if (t[0] == 0xf3 && t[1] == 0x0f && t[2] == 0x1e && t[3] == 0xfa) t += 4;  // endbr64
  if (t[0] == 0xf2) ++t;                                                     // bnd
  if (t[0] != 0xff || t[1] != 0x25) return 0;                                // jmp *disp32(%rip)
  int32_t rel;
  MemCopy(&rel, t + 2, sizeof rel);
  uint64_t slot = reinterpret_cast<uint64_t>(t + 6) + static_cast<int64_t>(rel);
  if (!ReadableSpan(m, slot, 8)) return 0;
  uint64_t fn;
  MemCopy(&fn, reinterpret_cast<const void*>(slot), sizeof fn);
  return fn;
}

// True unless the call instruction before `ret` is a direct call (or a call
// through a PLT stub) whose target cannot be the function holding `callee`:
// then `ret` is a stale word, not a caller. An indirect call passes.
bool MayCall(const ModuleMap* m, const Module* mod, uint64_t ret, uint64_t callee) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(ret);
  if (ret - 5 < mod->start || p[-5] != 0xe8) return true;
  int32_t rel;
  MemCopy(&rel, p - 4, sizeof rel);
  uint64_t target = ret + static_cast<int64_t>(rel);
  if (target < mod->start || target + 16 > mod->end) return true;
  if (uint64_t fn = PltTarget(m, target)) target = fn;
  const Module* at = FindModule(m, callee);
  if (uint64_t start = at != nullptr ? FunctionStart(at, callee - 1) : 0) return target == start;
  return target <= callee && callee - target < kMaxFunctionBytes;
}

// A return address into a target module just after a call, or null.
const Module* ReturnInto(const ModuleMap* m, uint64_t word) {
  const Module* c = FindModule(m, word);
  return c != nullptr && AfterCall(word, c->start) ? c : nullptr;
}

// Reads len bytes at addr of this process without faulting (a system
// call: for memory whose mapping is not known).
bool ReadSafely(uint64_t addr, void* out, size_t len) {
  struct iovec local = {out, len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  return Sys(SYS_process_vm_readv, CurrentPid(), A(&local), 1, A(&remote), 1, 0) ==
         static_cast<long>(len);
}

// Follows saved frame pointers from fp, whose frame lies in [lo, top).
// Trusted only when its first caller checks against frame 0. With `safe`,
// each frame is read without faulting (a stack whose bounds are unknown).
void WalkFramePointers(const ModuleMap* m, uint64_t fp, uint64_t lo, uint64_t top, bool safe,
                       CallStack* out) {
  int first = out->count;
  while (out->count <= trace::kMaxCallers) {
    if (fp < lo || fp + 16 > top || (fp & 7) != 0) break;
    uint64_t f[2];
    if (!safe) {
      MemCopy(f, reinterpret_cast<const void*>(fp), sizeof f);
    } else if (!ReadSafely(fp, f, sizeof f)) {
      break;
    }
    const Module* c = ReturnInto(m, f[1]);
    if (c == nullptr) break;
    if (out->count == first && !MayCall(m, c, f[1], out->frames[first - 1].addr)) break;
    SetFrame(m, c, f[1], &out->frames[out->count++]);
    if (f[0] <= fp) break;
    fp = f[0];
  }
  if (out->count > first) out->method = trace::kStackFramePointers;
}

// Scans the words in [slot, slot + 8 * words) for callers. A word that does
// not check against the frame below is held back: when the next word checks
// against it (a tail call hid the frame between), both are taken.
// taken[k] is the address of the word frames[k] came from.
void ScanCallers(const ModuleMap* m, const uint64_t* slot, uint64_t words, CallStack* out,
                 const uint64_t** taken) {
  uint64_t held = 0;
  const uint64_t* held_at = nullptr;
  const Module* held_mod = nullptr;
  for (uint64_t i = 0; i < words && out->count <= trace::kMaxCallers; ++i) {
    const Module* c = ReturnInto(m, slot[i]);
    if (c == nullptr) continue;
    if (MayCall(m, c, slot[i], out->frames[out->count - 1].addr)) {
      taken[out->count] = &slot[i];
      SetFrame(m, c, slot[i], &out->frames[out->count++]);
      held = 0;
    } else if (held != 0 && MayCall(m, c, slot[i], held) && out->count < trace::kMaxCallers) {
      taken[out->count] = held_at;
      SetFrame(m, held_mod, held, &out->frames[out->count++]);
      taken[out->count] = &slot[i];
      SetFrame(m, c, slot[i], &out->frames[out->count++]);
      held = 0;
    } else {
      held = slot[i];
      held_at = &slot[i];
      held_mod = c;
    }
  }
  out->method = trace::kStackScan;
}

// Callers of a call made from a module's own code (frame 0 is rip) on a
// stack whose bounds are not known: a Go program linked with cgo makes its
// calls from Go's runtime, on a goroutine's stack in Go's heap. The word
// on top of the stack is the return address of a function without a frame
// (Go's assembly Syscall6); then the saved frame pointers, which Go keeps,
// read without faulting, each frame ascending.
void WalkUnknownStack(const ModuleMap* m, uint64_t rsp, uint64_t rbp, CallStack* out) {
  uint64_t top = *reinterpret_cast<const uint64_t*>(rsp);  // the thread's own stack pointer
  if (const Module* c = ReturnInto(m, top)) {
    if (MayCall(m, c, top, out->frames[0].addr)) SetFrame(m, c, top, &out->frames[out->count++]);
  }
  WalkFramePointers(m, rbp, rsp, ~uint64_t{0} - 16, true, out);
  if (out->count > 1) out->method = trace::kStackFramePointers;
}

// The two slots (a set) frame 0 may be cached in. The set is chosen by place
// and value: the calls of one function to different callees leave their
// return addresses in the same word. Two ways, so that two call sites whose
// keys meet in one set do not evict each other on every call (a workload
// alternating such a pair rescanned its whole stack on each).
ScannedStack* ScannedSet(const uint64_t* frame0) {
  ThreadBuf* b = Buf();
  if (b == nullptr) return nullptr;
  uint64_t key = (reinterpret_cast<uint64_t>(frame0) >> 3) ^ *frame0;
  uint64_t set = (key * 0x9e3779b97f4a7c15ull) >> 32;
  return &b->scanned[2 * (set % (kScannedStacks / 2))];
}

bool StillHolds(const ScannedStack& s, const uint64_t* frame0, uint64_t lo, uint64_t top) {
  if (s.generation != g_generation || s.taken[0] != frame0 || s.stack.count == 0) return false;
  for (int k = 0; k < s.stack.count; ++k) {
    uint64_t at = reinterpret_cast<uint64_t>(s.taken[k]);
    if (at < lo || at + 8 > top || *s.taken[k] != s.values[k]) return false;
  }
  return true;
}

// ScanCallers above frame 0 (at frame0, a stack word), through the cache.
void ScanCallersOnce(const ModuleMap* m, const uint64_t* frame0, uint64_t words, uint64_t top,
                     CallStack* out) {
  ScannedStack* set = ScannedSet(frame0);
  uint64_t lo = reinterpret_cast<uint64_t>(frame0);
  for (int way = 0; set != nullptr && way < 2; ++way) {
    if (StillHolds(set[way], frame0, lo, top)) {
      *out = set[way].stack;
      set[way].last_used = ++Buf()->scan_clock;
      return;
    }
  }
  const uint64_t* taken[trace::kMaxCallers + 1] = {frame0};
  ScanCallers(m, frame0 + 1, words, out, taken);
  if (set == nullptr) return;
  ScannedStack* s = set[0].last_used <= set[1].last_used ? &set[0] : &set[1];
  s->generation = g_generation;
  s->last_used = ++Buf()->scan_clock;
  s->stack = *out;
  for (int k = 0; k < out->count; ++k) {
    s->taken[k] = taken[k];
    s->values[k] = *taken[k];
  }
}

// The index of the stack word that is frame 0: the first return address
// into a target module whose call may lead to `rip`, else (a call through
// more of libc than one function) the first return address at all.
uint64_t FindCallSiteWord(const ModuleMap* m, const uint64_t* w, uint64_t words, uint64_t rip) {
  constexpr uint64_t kLookAhead = 64;  // words past the first return address
  uint64_t first = words;
  for (uint64_t i = 0; i < words; ++i) {
    if (first != words && i - first > kLookAhead) break;
    const Module* c = ReturnInto(m, w[i]);
    if (c == nullptr) continue;
    if (MayCall(m, c, w[i], rip)) return i;
    if (first == words) first = i;
  }
  return first;
}

}  // namespace

bool OverlapsModules(uint64_t start, uint64_t len) {
  if (g_maps[0] == nullptr) return false;
  const ModuleMap* m = g_maps[__atomic_load_n(&g_current, __ATOMIC_ACQUIRE)];
  for (int i = 0; i < m->readable_count; ++i) {
    if (m->readable[i].start < start + len && start < m->readable[i].end) return true;
  }
  return false;
}

bool IsRuntimeCode(uint64_t addr, uint64_t len) {
  if (g_rt.modules_dirty) RebuildModules();
  if (g_maps[0] == nullptr) return false;
  const ModuleMap* m = g_maps[__atomic_load_n(&g_current, __ATOMIC_ACQUIRE)];
  return ReadableSpan(m, addr, len, true);
}

bool FindCallStack(const ucontext_t* uc, CallStack* out) {
  if (g_rt.modules_dirty) RebuildModules();
  out->count = 0;
  out->method = 0;
  if (g_maps[0] == nullptr) return false;
  const ModuleMap* m = g_maps[__atomic_load_n(&g_current, __ATOMIC_ACQUIRE)];
  const greg_t* g = uc->uc_mcontext.gregs;
  uint64_t rip = static_cast<uint64_t>(g[REG_RIP]);
  uint64_t rsp = static_cast<uint64_t>(g[REG_RSP]);
  // A vfork-like child on a stack of its own bounds its scan by that
  // stack, not by its parent thread's (reading up to that one crossed
  // unmapped memory: SIGSEGV).
  uint64_t top = t_stack_top != 0 ? t_stack_top : m->main_stack_top;
  if (t_shared_child_stack_top != 0 && InSharedChild()) top = t_shared_child_stack_top;
  bool stack_ok = top != 0 && rsp < top && top - rsp <= (64u << 20);
  const uint64_t* w = reinterpret_cast<const uint64_t*>(rsp);
  uint64_t words = stack_ok ? (top - rsp) / 8 : 0;
  if (words > kScanWords) words = kScanWords;
  uint64_t next = 0;  // the first stack word above frame 0
  if (const Module* mod = FindModule(m, rip)) {
    SetFrame(m, mod, rip, &out->frames[out->count++]);
  } else {
    uint64_t at = FindCallSiteWord(m, w, words, rip);
    if (at == words) return false;
    SetFrame(m, FindModule(m, w[at]), w[at], &out->frames[out->count++]);
    next = at + 1;
  }
  if (words == 0) {
    if (next == 0) WalkUnknownStack(m, rsp, static_cast<uint64_t>(g[REG_RBP]), out);
    return true;
  }
  WalkFramePointers(m, static_cast<uint64_t>(g[REG_RBP]), rsp + 8 * next, top, false, out);
  if (out->count > 1) return true;
  if (next == 0) {
    // Frame 0 is rip itself (a call site in the program's own code): no
    // stack word to key a cached scan by.
    const uint64_t* taken[trace::kMaxCallers + 1] = {};
    ScanCallers(m, w, words, out, taken);
  } else {
    ScanCallersOnce(m, w + next - 1, words - next, top, out);
  }
  return true;
}

}  // namespace aftershock::inject
