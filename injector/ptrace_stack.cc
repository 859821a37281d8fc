// Call stacks of a program the ptrace recorder traces: the return
// addresses along its saved frame pointers (Go keeps them on amd64; C built
// with -fno-omit-frame-pointer), each checked to follow a call instruction;
// in code without frame pointers (C at Debian's default -O2), the return
// addresses a scan of the stack's words finds, as the preload's scan does.
// In a Go program the frames of Go's own runtime and standard library are
// what libc is to a dynamic program: the call site is the first frame
// outside them (docs/injector.md, "Static programs").
#include <elf.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "injector/go_symbols.h"
#include "injector/ptrace_session.h"

namespace aftershock::inject {
namespace {

bool Peek(pid_t tid, uint64_t addr, void* out, size_t len) {
  struct iovec local = {out, len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  return ::process_vm_readv(tid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

// True iff the 8 bytes b before a return address end with a call: e8
// rel32, or ff /2 with a register, a disp8 or a disp32 operand (with or
// without a SIB byte).
bool EndsWithCall(const unsigned char* b) {
  auto ff2 = [&](int at) { return b[at] == 0xff && (b[at + 1] & 0x38) == 0x10; };
  return b[3] == 0xe8 || ff2(6) || ff2(5) || ff2(2) || ff2(1);
}

bool FollowsCall(pid_t tid, uint64_t ret) {
  unsigned char b[8];
  return ret >= sizeof b && Peek(tid, ret - sizeof b, b, sizeof b) && EndsWithCall(b);
}

// The target of the direct call (e8 rel32) that ends just before ret (b:
// the 8 bytes before it), or 0 when the call there is indirect.
uint64_t DirectCallTarget(const unsigned char* b, uint64_t ret) {
  if (b[3] != 0xe8) return 0;
  int32_t rel;
  std::memcpy(&rel, b + 4, sizeof rel);
  return ret + static_cast<int64_t>(rel);
}

}  // namespace

// The function symbols of an ELF file (its .symtab), sorted by address.
void FunctionTable::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!in.read(reinterpret_cast<char*>(&eh), sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return;
  }
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  in.seekg(static_cast<std::streamoff>(eh.e_shoff));
  if (!in.read(reinterpret_cast<char*>(sections.data()),
               static_cast<std::streamsize>(sections.size() * sizeof(Elf64_Shdr)))) {
    return;
  }
  for (const Elf64_Shdr& sh : sections) {
    if (sh.sh_type != SHT_SYMTAB || sh.sh_link >= sections.size()) continue;
    const Elf64_Shdr& str = sections[sh.sh_link];
    std::string names(str.sh_size, '\0');
    std::vector<Elf64_Sym> syms(sh.sh_size / sizeof(Elf64_Sym));
    in.seekg(static_cast<std::streamoff>(str.sh_offset));
    in.read(names.data(), static_cast<std::streamsize>(names.size()));
    in.seekg(static_cast<std::streamoff>(sh.sh_offset));
    in.read(reinterpret_cast<char*>(syms.data()),
            static_cast<std::streamsize>(syms.size() * sizeof(Elf64_Sym)));
    if (!in) return;
    for (const Elf64_Sym& s : syms) {
      if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0 || s.st_name >= names.size()) {
        continue;
      }
      functions.push_back({s.st_value, s.st_value + std::max<uint64_t>(s.st_size, 1),
                           std::string(names.c_str() + s.st_name)});
      go |= functions.back().name == "runtime.main";
    }
  }
  std::sort(functions.begin(), functions.end(),
            [](const Function& a, const Function& b) { return a.start < b.start; });
}

const std::string* FunctionTable::NameAt(uint64_t addr) const {
  auto it = std::upper_bound(functions.begin(), functions.end(), addr,
                             [](uint64_t a, const Function& f) { return a < f.start; });
  if (it == functions.begin()) return nullptr;
  --it;
  return addr < it->end ? &it->name : nullptr;
}

uint64_t FunctionTable::StartOf(uint64_t addr) const {
  auto it = std::upper_bound(functions.begin(), functions.end(), addr,
                             [](uint64_t a, const Function& f) { return a < f.start; });
  if (it == functions.begin()) return 0;
  --it;
  return addr < it->end ? it->start : 0;
}

FunctionTable& PtraceSession::FunctionsOf(const std::string& path) {
  FunctionTable& table = functions_[path];
  if (!table.loaded) {
    table.Load(path);
    table.loaded = true;
  }
  return table;
}

// The 8 bytes before ret in module m of t's process, from a copy of the
// module's code read once per process image (static code does not
// change): a scan looks at many words, and a process_vm_readv each was
// most of its cost. Null when they cannot be read.
const unsigned char* PtraceSession::CodeBefore(const Tracee& t, const MappedModule& m,
                                               uint64_t ret) {
  std::vector<unsigned char>& code = code_[{t.tgid, m.start}];
  if (code.empty()) {
    code.resize(m.end - m.start);
    if (!Peek(t.tid, m.start, code.data(), code.size())) code.assign(1, 0);
  }
  if (code.size() != m.end - m.start || ret < m.start + 8 || ret > m.end) return nullptr;
  return code.data() + (ret - 8 - m.start);
}

// Scans the stack words from `from` up for callers of frames->back(): a
// word in an executable mapping, just after a call instruction, whose call,
// when direct, leads to the function that holds the frame below (a return
// address a finished call left behind does not). A read stops where the
// stack's mapping ends.
void PtraceSession::ScanStack(const Tracee& t, uint64_t from, std::vector<uint64_t>* frames) {
  constexpr size_t kScanWords = 4096;
  std::vector<uint64_t> words(kScanWords);
  struct iovec local = {words.data(), words.size() * sizeof(uint64_t)};
  struct iovec remote = {reinterpret_cast<void*>(from), local.iov_len};
  ssize_t got = ::process_vm_readv(t.tid, &local, 1, &remote, 1, 0);
  size_t n = got > 0 ? static_cast<size_t>(got) / sizeof(uint64_t) : 0;
  // Most words are no code address: tested against the process's
  // executable mappings in place (a static program has one or two), with
  // no copy of a module per word.
  auto it = modules_.find(t.tgid);
  if (it == modules_.end()) return;
  const std::vector<MappedModule>& mods = it->second;
  const MappedModule* below = MappedAt(mods, frames->back());
  for (size_t i = 0; i < n && frames->size() < trace::kMaxCallers + 1; ++i) {
    uint64_t ret = words[i];
    const MappedModule* m = MappedAt(mods, ret);
    const unsigned char* before = m != nullptr ? CodeBefore(t, *m, ret) : nullptr;
    if (before == nullptr || !EndsWithCall(before)) continue;
    uint64_t target = DirectCallTarget(before, ret);
    if (target != 0 && below != nullptr && below->path == m->path) {
      FunctionTable& table = FunctionsOf(m->path);
      uint64_t callee = table.StartOf(frames->back() - m->bias - 1);
      uint64_t called = table.StartOf(target - m->bias);
      // A call to a function other than the one below (a call through a
      // PLT stub, into no known function, passes).
      if (callee != 0 && called == target - m->bias && called != callee) continue;
    }
    frames->push_back(ret);
    below = m;
  }
}

std::vector<uint64_t> PtraceSession::Frames(const Tracee& t, const user_regs_struct& regs,
                                            uint8_t* method) {
  std::vector<uint64_t> frames = {regs.rip};
  auto add = [&](uint64_t ret) {
    if (!ModuleOf(t.tgid, ret, false) || !FollowsCall(t.tid, ret)) return false;
    if (frames.back() != ret) frames.push_back(ret);
    return true;
  };
  // A function without a frame of its own (Go's assembly Syscall6) leaves
  // its return address on top of the stack.
  uint64_t top = 0;
  if (Peek(t.tid, regs.rsp, &top, sizeof top)) add(top);
  uint64_t fp = regs.rbp;
  uint64_t floor = regs.rsp;
  constexpr uint64_t kMaxStack = 8u << 20;
  while (frames.size() < 2 * (trace::kMaxCallers + 1) && fp >= floor && fp - regs.rsp < kMaxStack &&
         fp % 8 == 0) {
    uint64_t saved[2];  // the caller's frame pointer, the return address
    if (!Peek(t.tid, fp, saved, sizeof saved) || !add(saved[1])) break;
    floor = fp + 16;
    fp = saved[0];
  }
  *method = trace::kStackFramePointers;
  if (frames.size() <= 2) {
    // No caller along the frame pointers (beyond the word on top): code
    // built without them.
    *method = trace::kStackScan;
    ScanStack(t, regs.rsp + (frames.size() == 2 ? 8 : 0), &frames);
  }
  return frames;
}

// The frame a record names as its call site: in a Go program, the first one
// outside Go's runtime and standard library; else the call itself.
size_t PtraceSession::SiteFrame(const std::vector<uint64_t>& frames, const MappedModule& exe) {
  FunctionTable& table = FunctionsOf(exe.path);
  if (!table.go) return 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    // Symbol values are link addresses: the bias (0 for ET_EXEC) undoes
    // where the executable was loaded.
    uint64_t addr = frames[i] - exe.bias;
    // A return address is just past its call: look the call up.
    const std::string* name = table.NameAt(i == 0 ? addr : addr - 1);
    if (name != nullptr && !IsGoStandardFunction(*name)) return i;
  }
  return 0;
}

}  // namespace aftershock::inject
