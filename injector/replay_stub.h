// THROWAWAY STUB, to be replaced by the model's FsState (model/fs_state.h:
// Capture, FsState::Apply, Diff) as soon as it is on main. It replays just
// enough of a trace (names, bytes, modes, symlinks, hard links) for the
// recorder's fidelity check. Do not grow it; do not use it elsewhere.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "model/trace.h"

namespace aftershock::replay_stub {

struct Node {
  enum Type { kFile, kDir, kSymlink, kOther } type = kFile;
  uint32_t mode = 0;  // permission bits
  std::string data;   // bytes, or symlink target
};

struct State {
  std::string root;                                    // absolute; ops outside it change nothing
  std::map<std::string, std::shared_ptr<Node>> nodes;  // relative path -> node ("" = root)
  std::map<std::pair<uint64_t, uint64_t>, std::shared_ptr<Node>> by_ino;
};

// Reads the tree under dir. Returns nullopt (and *error) on failure.
std::optional<State> Capture(const std::string& dir, std::string* error);
// Applies one op. Returns an error message, empty on success.
std::string Apply(State* s, const Op& op);
// First difference, or nullopt.
std::optional<std::string> Diff(const State& want, const State& got);

}  // namespace aftershock::replay_stub
