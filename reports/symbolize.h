// Turns a recorded call site (module path + offset from the module's start)
// into file:line:function, from the module's DWARF (libdw). Works where the
// target has debug information; otherwise the location is unknown and
// reports show module+offset instead.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace aftershock {

struct SourceLocation {
  std::string file;  // absolute when DWARF names the compilation directory
  int line = 0;
  std::string function;  // demangled
  bool known() const { return line > 0 && !file.empty(); }
  // "queue/enqueue.cc:88 (refqueue::Enqueue)", or "" when unknown.
  std::string ToString() const;
};

// Not thread-safe: one per thread. Caches each module it opens.
class Symbolizer {
 public:
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // `offset` is a return address relative to the lowest mapping of `module`
  // (the injector's call_offset). Returns an unknown location when the
  // module is missing, has no debug information, or the offset is outside it.
  SourceLocation Lookup(const std::string& module, uint64_t offset);

  // As Lookup, with the functions inlined at that address as frames of
  // their own, innermost first: [the inlined callee at its line, ..., the
  // function the symbol names at the line where it called the outermost
  // inlined one]. One entry when nothing is inlined there; Lookup's one
  // entry when there is no DWARF.
  std::vector<SourceLocation> LookupInlined(const std::string& module, uint64_t offset);

  // True iff module is a Go program (it has Go's .gopclntab section).
  bool IsGo(const std::string& module);

 private:
  struct Module;
  Module* Open(const std::string& path);
  std::map<std::string, std::unique_ptr<Module>> modules_;
  std::map<std::pair<std::string, uint64_t>, SourceLocation> looked_up_;
  std::map<std::pair<std::string, uint64_t>, std::vector<SourceLocation>> inlined_;
};

}  // namespace aftershock
