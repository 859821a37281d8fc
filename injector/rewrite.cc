#include "injector/rewrite.h"

#include <cpuid.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "injector/insn_length.h"
#include "injector/modules.h"
#include "injector/raw.h"
#include "injector/runtime.h"

extern "C" {
__attribute__((visibility("hidden"))) uint64_t aftershock_xsave_size = 0;
}

namespace aftershock::inject {
namespace {

// A site is `mov $NR, %eax` (b8 + imm32) then `syscall` (0f 05); the
// SIGSYS handler sees the address after the syscall. Call 0 (read) is set
// up as `xor %eax, %eax` (31 c0): four bytes, too few for a jump to the
// stub, so its `xor` becomes a 2-byte jump to dead padding nearby, where
// the 5-byte jump to the stub is written (a hop, see FindHop).
constexpr uint64_t kSiteLen = 7;
constexpr uint64_t kMovLen = 5;
constexpr uint64_t kXorSiteLen = 4;
constexpr uint64_t kXorLen = 2;
// A patch costs a copy of a page of libc, a page of stubs and four
// mprotects: a short-lived process (an enqueue that makes 100 calls in all)
// would pay more than it saves. A site in a loop gets there at once.
constexpr int kTrapsBeforeRewrite = 32;
// One page for the whole table (every page touched is a fault, in every
// process): a process makes its calls from a few dozen libc wrappers.
constexpr int kMaxSites = 128;
constexpr int kMaxArenas = 16;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kStubSize = 48;
constexpr uint64_t kNear = (1ull << 31) - 2 * kPage;  // reach of a jmp rel32, with margin

enum SiteState : uint32_t { kCounting = 0, kRewritten, kRefused };
enum SiteForm : uint32_t { kMovForm = 0, kXorForm };

struct Site {
  uint64_t addr;  // the `mov` (or `xor`); 0: free slot
  uint32_t nr;
  uint32_t state;
  uint32_t traps;
  uint32_t form;  // SiteForm
};

struct Arena {
  uint64_t base;  // one page of stubs, r-x
  uint64_t used;
};

struct Rewriter {
  int lock;
  int arena_count;
  Arena arenas[kMaxArenas];
  Site sites[kMaxSites];
};

Rewriter* g_rw = nullptr;

// Never waits: a task killed while holding it (a vfork child shares it)
// must not stop the others, and a site not rewritten now traps again.
bool TryLock() { return __atomic_exchange_n(&g_rw->lock, 1, __ATOMIC_ACQUIRE) == 0; }

void Unlock() { __atomic_store_n(&g_rw->lock, 0, __ATOMIC_RELEASE); }

// The slot of the site at addr (found or claimed), or null when full.
Site* SlotOf(uint64_t addr) {
  uint64_t h = (addr * 0x9e3779b97f4a7c15ull) >> 57;  // 7 bits
  for (int i = 0; i < kMaxSites; ++i) {
    Site& s = g_rw->sites[(h + i) % kMaxSites];
    if (s.addr == addr) return &s;
    if (s.addr == 0) {
      s = {addr, 0, kCounting, 0, kMovForm};
      return &s;
    }
  }
  return nullptr;
}

bool Near(uint64_t a, uint64_t b) { return (a > b ? a - b : b - a) < kNear; }

// A new page for stubs within a jump's reach of site, or 0.
uint64_t NewArena(uint64_t site) {
  constexpr uint64_t kStep = 1ull << 21;
  for (uint64_t k = 1; k < 512; ++k) {
    for (int side = 0; side < 2; ++side) {
      uint64_t hint = (site & ~(kStep - 1)) + (side == 0 ? -k * kStep : k * kStep);
      if (!Near(hint, site)) continue;
      long r = Sys(SYS_mmap, A(hint), kPage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (IsErr(r)) continue;
      if (static_cast<uint64_t>(r) == hint) return hint;
      Sys(SYS_munmap, r, kPage);  // a kernel without MAP_FIXED_NOREPLACE put it elsewhere
    }
  }
  return 0;
}

// The stub of one site: skip the red zone (the `jmp` there pushes
// nothing, the entry below does), load the call number and the address
// to return to, and jump to the common entry. rcx and r11 are free: the
// syscall it replaces clobbers them.
void WriteStub(unsigned char* p, uint32_t nr, uint64_t resume) {
  const unsigned char lea[] = {0x48, 0x8d, 0x64, 0x24, 0x80};  // lea -128(%rsp), %rsp
  uint64_t entry = reinterpret_cast<uint64_t>(AftershockFastEntry);
  unsigned char* q = p;
  MemCopy(q, lea, sizeof lea);
  q += sizeof lea;
  *q++ = 0xb8;  // mov $nr, %eax
  MemCopy(q, &nr, 4);
  q += 4;
  *q++ = 0x48;  // movabs $resume, %rcx
  *q++ = 0xb9;
  MemCopy(q, &resume, 8);
  q += 8;
  *q++ = 0x49;  // movabs $entry, %r11
  *q++ = 0xbb;
  MemCopy(q, &entry, 8);
  q += 8;
  *q++ = 0x41;  // jmp *%r11
  *q++ = 0xff;
  *q++ = 0xe3;
  while (q < p + kStubSize) *q++ = 0xcc;
}

// A stub for the site at addr, within a jump's reach; 0 when none can be had.
uint64_t NewStub(uint64_t addr, uint32_t nr, uint64_t resume) {
  Arena* a = nullptr;
  for (int i = 0; i < g_rw->arena_count && a == nullptr; ++i) {
    Arena& x = g_rw->arenas[i];
    if (x.used + kStubSize <= kPage && Near(x.base, addr)) a = &x;
  }
  if (a == nullptr) {
    if (g_rw->arena_count == kMaxArenas) return 0;
    uint64_t base = NewArena(addr);
    if (base == 0) return 0;
    a = &g_rw->arenas[g_rw->arena_count++];
    *a = {base, 0};
  } else if (IsErr(Sys(SYS_mprotect, A(a->base), kPage, PROT_READ | PROT_WRITE | PROT_EXEC))) {
    return 0;  // stays executable: another thread may be in a stub of this page
  }
  uint64_t stub = a->base + a->used;
  WriteStub(reinterpret_cast<unsigned char*>(stub), nr, resume);
  a->used += kStubSize;
  Sys(SYS_mprotect, A(a->base), kPage, PROT_READ | PROT_EXEC);
  return stub;
}

// Writes n bytes of code at addr. With other tasks running this code,
// only where one aligned 8-byte store covers them (an instruction fetch
// then sees the old bytes or the new, never a mix), unless `anyway`.
bool PatchCode(uint64_t addr, const unsigned char* code, uint64_t n, bool anyway = false) {
  uint64_t word = addr & ~uint64_t{7};
  bool atomic = addr - word + n <= 8;
  if (g_rt.threaded && !atomic && !anyway) return false;
  uint64_t first = addr & ~(kPage - 1);
  uint64_t len = ((addr + n + kPage - 1) & ~(kPage - 1)) - first;
  if (IsErr(Sys(SYS_mprotect, A(first), len, PROT_READ | PROT_WRITE | PROT_EXEC))) return false;
  if (atomic) {
    uint64_t v = *reinterpret_cast<const uint64_t*>(word);
    MemCopy(reinterpret_cast<unsigned char*>(&v) + (addr - word), code, n);
    __atomic_store_n(reinterpret_cast<uint64_t*>(word), v, __ATOMIC_SEQ_CST);
  } else {
    MemCopy(reinterpret_cast<void*>(addr), code, n);
  }
  Sys(SYS_mprotect, A(first), len, PROT_READ | PROT_EXEC);
  return true;
}

// `jmp rel32` from `from` to `to` in jmp[5]; false when out of reach.
bool JumpRel32(uint64_t from, uint64_t to, unsigned char* jmp) {
  int64_t rel = static_cast<int64_t>(to - (from + kMovLen));
  int32_t rel32 = static_cast<int32_t>(rel);
  if (rel32 != rel) return false;
  jmp[0] = 0xe9;
  MemCopy(jmp + 1, &rel32, 4);
  return true;
}

// The `xor` form: the hop's jump to the stub is written first (dead
// bytes, any time), then the `xor` becomes `jmp hop` in one store; the
// `syscall` after it stays and is jumped over.
bool RewriteXor(uint64_t addr, uint32_t nr) {
  uint64_t hop = FindHop(addr + kXorSiteLen, addr + kXorLen + 127);
  if (hop == 0 || !IsRuntimeCode(hop, kMovLen)) return false;
  uint64_t stub = NewStub(addr, nr, addr + kXorSiteLen);
  unsigned char jmp[kMovLen];
  if (stub == 0 || !JumpRel32(hop, stub, jmp) || !PatchCode(hop, jmp, kMovLen, true)) return false;
  unsigned char near[kXorLen] = {0xeb, static_cast<unsigned char>(hop - (addr + kXorLen))};
  return PatchCode(addr, near, kXorLen);
}

bool Rewrite(uint64_t addr, uint32_t nr, uint32_t form) {
  // Only libc's and ld.so's wrappers: not a JIT's code, which it may move
  // or rewrite, nor a runtime's own (Go's), which may run on a stack too
  // small for the recorder (a goroutine's).
  if (!IsRuntimeCode(addr, form == kXorForm ? kXorSiteLen : kSiteLen)) return false;
  bool done;
  if (form == kXorForm) {
    done = RewriteXor(addr, nr);
  } else {
    uint64_t stub = NewStub(addr, nr, addr + kSiteLen);
    unsigned char jmp[kMovLen];
    done = stub != 0 && JumpRel32(addr, stub, jmp) && PatchCode(addr, jmp, kMovLen);
  }
  if (done && g_rt.page != nullptr) {
    __atomic_add_fetch(&g_rt.page->sites_rewritten, 1, __ATOMIC_RELAXED);
  }
  return done;
}

// The start of the site that trapped at rip (the bytes before it are
// `mov $nr, %eax; syscall`, or `xor %eax, %eax; syscall` for call 0) and
// its form, or 0. They are read only when they lie in rip's own page,
// which is mapped.
uint64_t SiteAt(uint64_t rip, long nr, uint32_t* form) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(rip);
  if (rip % kPage < kSiteLen || p[-2] != 0x0f || p[-1] != 0x05) return 0;
  if (nr == 0 && p[-4] == 0x31 && p[-3] == 0xc0) {
    *form = kXorForm;
    return rip - kXorSiteLen;
  }
  uint32_t imm;
  MemCopy(&imm, p - kSiteLen + 1, 4);
  *form = kMovForm;
  return p[-kSiteLen] == 0xb8 && imm == static_cast<uint64_t>(nr) ? rip - kSiteLen : 0;
}

}  // namespace

void UndoRewrites() {
  if (g_rw == nullptr || !g_rt.rewrite) return;
  g_rt.rewrite = false;
  for (Site& s : g_rw->sites) {
    if (s.addr == 0 || s.state != kRewritten) continue;
    unsigned char mov[kMovLen] = {0xb8};
    MemCopy(mov + 1, &s.nr, 4);
    const unsigned char xor_eax[kXorLen] = {0x31, 0xc0};
    // Not atomically, if need be: the jump would crash this thread for sure.
    if (s.form == kXorForm) {
      PatchCode(s.addr, xor_eax, kXorLen, true);
    } else {
      PatchCode(s.addr, mov, kMovLen, true);
    }
    s.state = kRefused;
  }
}

static_assert(sizeof(Rewriter) <= kPage);

bool InitRewriting() {
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & bit_OSXSAVE) == 0) return false;
  if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d) == 0 || b < 576) return false;
  long r = Sys(SYS_mmap, 0, sizeof(Rewriter), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
  if (IsErr(r)) return false;
  g_rw = reinterpret_cast<Rewriter*>(r);
  aftershock_xsave_size = (static_cast<uint64_t>(b) + 63) & ~uint64_t{63};
  return true;
}

void MaybeRewrite(long nr, uint64_t rip) {
  if (g_rw == nullptr || !g_rt.rewrite || IsProcessCall(nr)) return;
  uint32_t form = kMovForm;
  uint64_t addr = SiteAt(rip, nr, &form);
  if (addr == 0 || !TryLock()) return;
  Site* s = SlotOf(addr);
  if (s != nullptr) {
    // A site rewritten before that traps with its old bytes again is new
    // code at the same address (a library unmapped and another mapped).
    if (s->nr != static_cast<uint32_t>(nr) || s->state == kRewritten || s->form != form) {
      *s = {addr, 0, kCounting, 0, form};
    }
    s->nr = static_cast<uint32_t>(nr);
    if (s->state == kCounting && ++s->traps >= kTrapsBeforeRewrite) {
      s->state = Rewrite(addr, s->nr, form) ? kRewritten : kRefused;
    }
  }
  Unlock();
}

}  // namespace aftershock::inject

namespace {

using namespace aftershock::inject;

// What AftershockFastEntry (entry.S) pushed, lowest address first; the
// target's stack pointer is 128 bytes (the red zone) above its end.
struct FastFrame {
  long nr, rdi, rsi, rdx, r10, r8, r9, rbx, rbp;
  uint64_t resume;  // the address after the site's `syscall`
};
static_assert(sizeof(FastFrame) == 80);
constexpr uint64_t kRedZone = 128;

long Direct(long nr, const long* a) { return Sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]); }

}  // namespace

// A call from a rewritten site: the same handlers as the SIGSYS handler's,
// given a context that holds what the trap would have saved. A call the
// handlers pass through is made here, once the thread has left the
// recorder, so that the target's signals reach it as they would without
// the recorder (a blocking read stays interruptible).
extern "C" __attribute__((visibility("hidden"))) long AftershockFastCall(FastFrame* f) {
  long a[6] = {f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9};
  // The recorder's own use of libc (libfiu), or a handler the gate had to
  // run inside the recorder (a fault in it): not the target's calls.
  if (aftershock_selector == SYSCALL_DISPATCH_FILTER_ALLOW || InRecorder()) return Direct(f->nr, a);
  ucontext_t uc;
  greg_t* g = uc.uc_mcontext.gregs;
  const int regs[6] = {REG_RDI, REG_RSI, REG_RDX, REG_R10, REG_R8, REG_R9};
  for (int i = 0; i < 6; ++i) g[regs[i]] = a[i];
  g[REG_RAX] = f->nr;
  g[REG_RBX] = f->rbx;
  g[REG_RBP] = f->rbp;
  g[REG_RSP] = static_cast<greg_t>(reinterpret_cast<uint64_t>(f + 1) + kRedZone);
  g[REG_RIP] = static_cast<greg_t>(f->resume);
  Call c{f->nr, {a[0], a[1], a[2], a[3], a[4], a[5]}, &uc, g};
  int saved_errno = errno;
  EnterRecorder();
  bool took = HandleFileCall(c) || HandleFdCall(c);
  bool pass = !took || g[REG_RIP] != static_cast<greg_t>(f->resume);
  // Pass() pointed the context at AftershockTrampPass (the only trampoline
  // of these handlers) and pushed the way back: the call is made below.
  if (took && pass) --aftershock_ret.depth;
  LeaveRecorder();
  errno = saved_errno;
  if (g_rt.page != nullptr) __atomic_add_fetch(&g_rt.page->fast_calls, 1, __ATOMIC_RELAXED);
  RaiseHeldSignals();
  return pass ? Direct(c.nr, c.a) : g[REG_RAX];
}
