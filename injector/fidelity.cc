#include "injector/fidelity.h"

#include <stdlib.h>

#include "model/fs_state.h"

namespace aftershock {

class RootSnapshot {
 public:
  FsState state;
};

std::shared_ptr<RootSnapshot> SnapshotRoot(const std::string& root, std::string* error) {
  Status st;
  std::optional<FsState> s = Capture(root, &st);
  if (!s) {
    *error = st.message();
    return nullptr;
  }
  char real[4096];
  s->SetRoot(::realpath(root.c_str(), real) != nullptr ? real : root);
  auto snap = std::make_shared<RootSnapshot>();
  snap->state = std::move(*s);
  return snap;
}

FidelityResult CheckFidelity(const RootSnapshot& before, const Trace& trace) {
  FidelityResult r;
  FsState replayed = before.state;  // copy-on-write: the snapshot stays as it was
  for (const Op& op : trace.ops) {
    Status st = replayed.Apply(op);
    if (!st.ok()) {
      r.gap = "recorder gap: replaying the trace failed: " + st.message();
      return r;
    }
  }
  Status st;
  std::optional<FsState> now = Capture(before.state.root(), &st);
  if (!now) {
    r.gap = "cannot read the root after the run: " + st.message();
    return r;
  }
  if (auto d = Diff(replayed, *now)) {
    r.gap = "recorder gap: the trace does not reproduce the directory: " + *d;
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace aftershock
