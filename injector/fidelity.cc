#include "injector/fidelity.h"

// TODO(model): when model/fs_state.h (Capture, FsState::Apply, Diff) is on
// main, replace replay_stub with it here: the three calls below are the
// only ones to swap.
#include "injector/replay_stub.h"

namespace aftershock {

class RootSnapshot {
 public:
  replay_stub::State state;
};

std::shared_ptr<RootSnapshot> SnapshotRoot(const std::string& root, std::string* error) {
  auto s = replay_stub::Capture(root, error);
  if (!s) return nullptr;
  auto snap = std::make_shared<RootSnapshot>();
  snap->state = std::move(*s);
  return snap;
}

FidelityResult CheckFidelity(const RootSnapshot& before, const Trace& trace) {
  FidelityResult r;
  replay_stub::State replayed = before.state;
  // Nodes are shared by pointer: copy them so the snapshot stays intact.
  std::map<replay_stub::Node*, std::shared_ptr<replay_stub::Node>> copies;
  for (auto& [path, n] : replayed.nodes) {
    auto& c = copies[n.get()];
    if (!c) c = std::make_shared<replay_stub::Node>(*n);
    n = c;
  }
  for (auto& [key, n] : replayed.by_ino) {
    auto it = copies.find(n.get());
    if (it != copies.end()) n = it->second;
  }
  for (const Op& op : trace.ops) {
    std::string err = replay_stub::Apply(&replayed, op);
    if (!err.empty()) {
      r.gap = "recorder gap: op " + std::to_string(op.seq) + ": " + err;
      return r;
    }
  }
  std::string error;
  auto now = replay_stub::Capture(before.state.root, &error);
  if (!now) {
    r.gap = "cannot read the root after the run: " + error;
    return r;
  }
  if (auto d = replay_stub::Diff(replayed, *now)) {
    r.gap = "recorder gap: " + *d;
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace aftershock
