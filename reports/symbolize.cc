#include "reports/symbolize.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace aftershock {
namespace {

std::string Demangle(const char* name) {
  if (name == nullptr) return "";
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return name;
  std::string s = out;
  std::free(out);
  return s;
}

const Dwfl_Callbacks kOfflineCallbacks = {
    .find_elf = nullptr,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

// A function scope's name: its linkage name demangled (through the
// abstract origin of an inlined copy), else its plain name.
std::string ScopeName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) != nullptr ||
      dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) != nullptr) {
    if (const char* linkage = dwarf_formstring(&attr)) return Demangle(linkage);
  }
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) {
    if (const char* name = dwarf_formstring(&attr)) return name;
  }
  return "";
}

// The file an inlined call was made from (DW_AT_call_file of `die`), made
// absolute with the compilation directory.
std::string CallFile(Dwarf_Die* cu, Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Word index = 0;
  Dwarf_Files* files = nullptr;
  size_t count = 0;
  if (dwarf_attr(die, DW_AT_call_file, &attr) == nullptr || dwarf_formudata(&attr, &index) != 0 ||
      dwarf_getsrcfiles(cu, &files, &count) != 0 || index >= count) {
    return "";
  }
  const char* name = dwarf_filesrc(files, index, nullptr, nullptr);
  if (name == nullptr) return "";
  const char* comp_dir = nullptr;
  if (dwarf_attr(cu, DW_AT_comp_dir, &attr) != nullptr) comp_dir = dwarf_formstring(&attr);
  if (name[0] == '/' || comp_dir == nullptr) return name;
  return std::filesystem::path(std::string(comp_dir) + "/" + name).lexically_normal();
}

int CallLine(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  Dwarf_Word line = 0;
  if (dwarf_attr(die, DW_AT_call_line, &attr) == nullptr || dwarf_formudata(&attr, &line) != 0)
    return 0;
  return static_cast<int>(line);
}

}  // namespace

std::string SourceLocation::ToString() const {
  if (!known()) return "";
  std::string s = file + ":" + std::to_string(line);
  if (!function.empty()) s += " (" + function + ")";
  return s;
}

struct Symbolizer::Module {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  // The injector's offsets count from the lowest mapping, which starts at the
  // page-aligned vaddr of the first PT_LOAD (0 for PIE and shared objects).
  uint64_t first_vaddr = 0;
  bool go = false;
  ~Module() {
    if (dwfl != nullptr) dwfl_end(dwfl);
  }
};

namespace {

// True iff the ELF file has a section of that name.
bool HasSection(Elf* elf, const char* name) {
  size_t names = 0;
  if (elf_getshdrstrndx(elf, &names) != 0) return false;
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    const char* n = gelf_getshdr(scn, &sh) ? elf_strptr(elf, names, sh.sh_name) : nullptr;
    if (n != nullptr && std::strcmp(n, name) == 0) return true;
  }
  return false;
}

}  // namespace

Symbolizer::Symbolizer() = default;
Symbolizer::~Symbolizer() = default;

Symbolizer::Module* Symbolizer::Open(const std::string& path) {
  auto it = modules_.find(path);
  if (it != modules_.end()) return it->second.get();
  auto m = std::make_unique<Module>();
  m->dwfl = dwfl_begin(&kOfflineCallbacks);
  if (m->dwfl != nullptr) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      // dwfl takes ownership of fd on success.
      m->mod = dwfl_report_elf(m->dwfl, path.c_str(), path.c_str(), fd, 0, false);
      if (m->mod == nullptr) ::close(fd);
    }
    dwfl_report_end(m->dwfl, nullptr, nullptr);
  }
  if (m->mod != nullptr) {
    GElf_Addr bias = 0;
    Elf* elf = dwfl_module_getelf(m->mod, &bias);
    size_t phnum = 0;
    if (elf != nullptr && elf_getphdrnum(elf, &phnum) == 0) {
      uint64_t lowest = UINT64_MAX;
      for (size_t i = 0; i < phnum; ++i) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, static_cast<int>(i), &ph) != nullptr && ph.p_type == PT_LOAD &&
            ph.p_vaddr < lowest) {
          lowest = ph.p_vaddr;
        }
      }
      // The recorders write a non-PIE executable's (ET_EXEC: Go's, for one)
      // offsets as its run addresses, which are its link addresses.
      GElf_Ehdr eh;
      bool exec = gelf_getehdr(elf, &eh) != nullptr && eh.e_type == ET_EXEC;
      m->go = HasSection(elf, ".gopclntab");
      if (lowest != UINT64_MAX && !exec) m->first_vaddr = lowest & ~uint64_t{0xfff};
    }
  }
  Module* raw = m.get();
  modules_[path] = std::move(m);
  return raw;
}

namespace {

// The unit libdw's address index names for addr, if it holds addr. A cgo
// binary's index covers only its C units, and names one of them (cgo's
// gcc_mmap.c) for addresses in Go's code too.
Dwarf_Die* IndexedCu(Dwfl_Module* mod, Dwarf_Addr addr, Dwarf_Addr* bias) {
  Dwarf_Die* cu = dwfl_module_addrdie(mod, addr, bias);
  return cu != nullptr && dwarf_haspc(cu, addr - *bias) == 1 ? cu : nullptr;
}

// The compilation unit holding addr, into *storage. libdw's address index
// comes from .debug_aranges; where it has no unit that holds addr (Go's
// linker writes none) the units are searched one by one.
Dwarf_Die* CuOf(Dwfl_Module* mod, Dwarf_Addr addr, Dwarf_Die* storage, Dwarf_Addr* bias) {
  if (Dwarf_Die* indexed = IndexedCu(mod, addr, bias)) return indexed;
  Dwarf* dwarf = dwfl_module_getdwarf(mod, bias);
  if (dwarf == nullptr) return nullptr;
  Dwarf_Off off = 0, next = 0;
  size_t header = 0;
  while (dwarf_nextcu(dwarf, off, &next, &header, nullptr, nullptr, nullptr) == 0) {
    if (dwarf_offdie(dwarf, off + header, storage) != nullptr &&
        dwarf_haspc(storage, addr - *bias) == 1) {
      return storage;
    }
    off = next;
  }
  return nullptr;
}

// The line of addr when dwfl's own lookup found none (no .debug_aranges).
Dwarf_Line* LineWithoutAranges(Dwfl_Module* mod, Dwarf_Addr addr) {
  Dwarf_Die storage;
  Dwarf_Addr bias = 0;
  Dwarf_Die* cu = CuOf(mod, addr, &storage, &bias);
  return cu != nullptr ? dwarf_getsrc_die(cu, addr - bias) : nullptr;
}

}  // namespace

bool Symbolizer::IsGo(const std::string& module) {
  Module* m = module.empty() ? nullptr : Open(module);
  return m != nullptr && m->go;
}

SourceLocation Symbolizer::Lookup(const std::string& module, uint64_t offset) {
  SourceLocation loc;
  if (module.empty() || offset == 0) return loc;
  auto [it, added] = looked_up_.try_emplace({module, offset});
  if (!added) return it->second;
  Module* m = Open(module);
  if (m == nullptr || m->mod == nullptr) return loc;
  // A return address points after the call; the call itself is one byte back.
  Dwarf_Addr addr = m->first_vaddr + offset - 1;
  loc.function = Demangle(dwfl_module_addrname(m->mod, addr));
  Dwfl_Line* line = dwfl_module_getsrc(m->mod, addr);
  Dwarf_Addr indexed_bias = 0;
  if (line != nullptr && IndexedCu(m->mod, addr, &indexed_bias) == nullptr) line = nullptr;
  Dwarf_Line* bare = line == nullptr ? LineWithoutAranges(m->mod, addr) : nullptr;
  if (bare != nullptr) {
    int lineno = 0;
    const char* file = dwarf_linesrc(bare, nullptr, nullptr);
    if (file != nullptr && dwarf_lineno(bare, &lineno) == 0) {
      loc.file = file;
      loc.line = lineno;
    }
  }
  if (line != nullptr) {
    int lineno = 0;
    const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
    if (file != nullptr) {
      loc.file = file;
      // A relative name is relative to the compilation directory (the build
      // dir); joined, it names the source wherever it lives.
      const char* comp_dir = dwfl_line_comp_dir(line);
      if (file[0] != '/' && comp_dir != nullptr && comp_dir[0] == '/')
        loc.file = std::filesystem::path(std::string(comp_dir) + "/" + file).lexically_normal();
      loc.line = lineno;
    }
  }
  it->second = loc;
  return loc;
}

std::vector<SourceLocation> Symbolizer::LookupInlined(const std::string& module, uint64_t offset) {
  SourceLocation outer = Lookup(module, offset);
  auto [it, added] = inlined_.try_emplace({module, offset});
  if (!added) return it->second;
  std::vector<SourceLocation>& frames = it->second;
  frames = {outer};
  Module* m = module.empty() || offset == 0 ? nullptr : Open(module);
  if (m == nullptr || m->mod == nullptr) return frames;
  Dwarf_Addr addr = m->first_vaddr + offset - 1;
  Dwarf_Addr bias = 0;
  Dwarf_Die storage;
  Dwarf_Die* cu = CuOf(m->mod, addr, &storage, &bias);
  Dwarf_Die* scopes = nullptr;
  int n = cu == nullptr ? 0 : dwarf_getscopes(cu, addr - bias, &scopes);
  int first = 0;  // the innermost function scope
  while (first < n && dwarf_tag(&scopes[first]) != DW_TAG_inlined_subroutine &&
         dwarf_tag(&scopes[first]) != DW_TAG_subprogram)
    ++first;
  // dwarf_getscopes continues past an inlined copy into its abstract
  // definition; the chain of copies it sits in comes from its own DIE.
  Dwarf_Die* chain = nullptr;
  int links = first < n && dwarf_tag(&scopes[first]) == DW_TAG_inlined_subroutine
                  ? dwarf_getscopes_die(&scopes[first], &chain)
                  : 0;
  // chain[0] is the innermost copy. Each is a frame at the line below it;
  // the line where it was inlined belongs to the scope outside.
  std::vector<SourceLocation> out;
  SourceLocation at = outer;  // the line of the innermost frame
  for (int i = 0; i < links; ++i) {
    if (dwarf_tag(&chain[i]) == DW_TAG_subprogram) break;
    if (dwarf_tag(&chain[i]) != DW_TAG_inlined_subroutine) continue;
    at.function = ScopeName(&chain[i]);
    out.push_back(at);
    at = SourceLocation{CallFile(cu, &chain[i]), CallLine(&chain[i]), ""};
  }
  std::free(chain);
  std::free(scopes);
  if (out.empty()) return frames;
  at.function = outer.function;  // the function the symbol table names
  out.push_back(at);
  frames = out;
  return frames;
}

}  // namespace aftershock
