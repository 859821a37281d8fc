#include "reports/symbolize.h"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include <cstdlib>
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
  ~Module() {
    if (dwfl != nullptr) dwfl_end(dwfl);
  }
};

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
      if (lowest != UINT64_MAX) m->first_vaddr = lowest & ~uint64_t{0xfff};
    }
  }
  Module* raw = m.get();
  modules_[path] = std::move(m);
  return raw;
}

SourceLocation Symbolizer::Lookup(const std::string& module, uint64_t offset) {
  SourceLocation loc;
  if (module.empty() || offset == 0) return loc;
  Module* m = Open(module);
  if (m == nullptr || m->mod == nullptr) return loc;
  // A return address points after the call; the call itself is one byte back.
  Dwarf_Addr addr = m->first_vaddr + offset - 1;
  loc.function = Demangle(dwfl_module_addrname(m->mod, addr));
  Dwfl_Line* line = dwfl_module_getsrc(m->mod, addr);
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
  return loc;
}

}  // namespace aftershock
