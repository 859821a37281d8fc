// Helpers shared by the crash-state tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/crash_states.h"

namespace aftershock {

// A compact rendering of a state for golden tests: files as "path=bytes"
// ("path*=bytes" when the owner-execute bit is set, Postfix's completion
// mark), symlinks as "path->target", separated by spaces. Directories are
// implied by their contents and not listed.
inline std::string Render(const FsState& s) {
  std::string out;
  s.Walk([&](const std::string& path, InodeId, const Inode& n, const std::string& first) {
    if (n.type == FileType::kDirectory) return;
    if (!out.empty()) out += " ";
    out += path;
    if (!first.empty()) {
      out += "=>" + first;
      return;
    }
    if (n.type == FileType::kSymlink) {
      out += "->" + n.data;
      return;
    }
    if ((n.mode & 0100) != 0) out += "*";
    out += "=";
    for (char c : n.data) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  });
  return out;
}

struct RunResult {
  std::vector<CrashState> states;
  CrashStats stats;
  Status status;
};

inline RunResult RunGenerator(const FsState& initial, const std::vector<Op>& ops,
                              const CrashOptions& options) {
  VectorOpSource source(&ops);
  CrashStateGenerator gen(initial, &source, options);
  RunResult r;
  while (auto cs = gen.Next()) r.states.push_back(std::move(*cs));
  r.stats = gen.stats();
  r.status = gen.status();
  return r;
}

// id -> rendered state.
inline std::map<std::string, std::string> Golden(const FsState& initial, const std::vector<Op>& ops,
                                                 const std::string& model,
                                                 Strategy strategy = Strategy::kOmitOne) {
  CrashOptions o;
  o.model = *PersistenceModel::Parse(model);
  o.strategy = strategy;
  o.dedup = false;
  RunResult r = RunGenerator(initial, ops, o);
  std::map<std::string, std::string> out;
  for (const CrashState& cs : r.states) out[cs.id] = Render(cs.state);
  if (!r.status.ok()) out["error"] = r.status.message();
  return out;
}

}  // namespace aftershock
