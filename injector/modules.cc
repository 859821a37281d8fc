#include "injector/modules.h"

#include <fcntl.h>
#include <sys/mman.h>

#include "injector/raw.h"
#include "injector/runtime.h"

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
};

struct ModuleMap {
  int count;
  Module mods[kMaxModules];
  char pool[kPoolSize];
  uint64_t main_stack_top;
};

// Two maps: readers use the current one while a rebuild fills the other.
ModuleMap* g_maps[2] = {nullptr, nullptr};
int g_current = 0;
int g_rebuilding = 0;
char* g_maps_buf = nullptr;

AFTERSHOCK_TLS uint64_t t_stack_top;

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

const Module* FindModule(const ModuleMap* m, uint64_t addr) {
  for (int i = 0; i < m->count; ++i) {
    if (addr >= m->mods[i].start && addr < m->mods[i].end) return &m->mods[i];
  }
  return nullptr;
}

}  // namespace

void SetStackTop(uint64_t top) { t_stack_top = top; }

void RebuildModules() {
  if (g_maps[0] == nullptr) {
    for (auto& m : g_maps) {
      long r = Sys(SYS_mmap, 0, sizeof(ModuleMap), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (IsErr(r)) return;
      m = reinterpret_cast<ModuleMap*>(r);
    }
    long r =
        Sys(SYS_mmap, 0, kMapsBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (IsErr(r)) return;
    g_maps_buf = reinterpret_cast<char*>(r);
  }
  if (__atomic_exchange_n(&g_rebuilding, 1, __ATOMIC_ACQUIRE) != 0) return;
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
      if (l.path_len == 7 && MemEq(l.path, "[stack]", 7)) m->main_stack_top = l.end;
      if (l.exec && l.path_len > 0 && l.path[0] == '/' && m->count < kMaxModules &&
          !IsRuntimeModule(l.path, l.path_len) && pool + l.path_len <= kPoolSize) {
        Module& mod = m->mods[m->count++];
        mod.start = l.start;
        mod.end = l.end;
        // The load bias: the start of the mapping of file offset 0, which
        // for PIE objects and shared libraries is what addr2line subtracts.
        mod.bias = l.start - l.offset;
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
  __atomic_store_n(&g_current, 1 - g_current, __ATOMIC_RELEASE);
  __atomic_store_n(&g_rebuilding, 0, __ATOMIC_RELEASE);
}

bool FindCallSite(const ucontext_t* uc, CallSite* out) {
  if (g_rt.modules_dirty) RebuildModules();
  if (g_maps[0] == nullptr) return false;
  const ModuleMap* m = g_maps[__atomic_load_n(&g_current, __ATOMIC_ACQUIRE)];
  const greg_t* g = uc->uc_mcontext.gregs;
  uint64_t rip = static_cast<uint64_t>(g[REG_RIP]);
  uint64_t rsp = static_cast<uint64_t>(g[REG_RSP]);
  const Module* mod = FindModule(m, rip);
  uint64_t addr = rip;
  if (mod == nullptr) {
    uint64_t top = t_stack_top != 0 ? t_stack_top : m->main_stack_top;
    if (top == 0 || rsp >= top || top - rsp > (64u << 20)) return false;
    const uint64_t* w = reinterpret_cast<const uint64_t*>(rsp);
    uint64_t words = (top - rsp) / 8;
    if (words > kScanWords) words = kScanWords;
    for (uint64_t i = 0; i < words && mod == nullptr; ++i) {
      const Module* c = FindModule(m, w[i]);
      if (c != nullptr && AfterCall(w[i], c->start)) {
        mod = c;
        addr = w[i];
      }
    }
    if (mod == nullptr) return false;
  }
  out->addr = addr;
  out->offset = addr - mod->bias;
  out->module = m->pool + mod->path_off;
  out->module_len = mod->path_len;
  return true;
}

}  // namespace aftershock::inject
