#include "injector/fidelity.h"

#include <stdlib.h>

#include "injector/trace_file.h"
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

FidelityResult CheckFidelity(const RootSnapshot& before, const Trace& trace,
                             const std::string& trace_path) {
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
  now->SetRoot(before.state.root());
  for (const std::string& own : {trace_path, trace_path + ".seq"}) {
    if (trace_path.empty() || own.rfind(before.state.root() + "/", 0) != 0) continue;
    Op forget;
    forget.kind = OpKind::kUnlink;
    forget.path = own;
    std::string rel = own.substr(before.state.root().size() + 1);
    if (now->Lookup(rel)) now->Apply(forget);
    if (replayed.Lookup(rel)) replayed.Apply(forget);
  }
  if (auto d = Diff(replayed, *now)) {
    r.gap = "recorder gap: the trace does not reproduce the directory: " + *d;
    return r;
  }
  r.ok = true;
  return r;
}

bool ReportFidelityGap(const std::string& trace_path, const FidelityResult& result) {
  if (result.ok) return false;
  Op gap;
  gap.kind = OpKind::kGap;
  gap.data = result.gap;
  return AppendRecord(trace_path, gap) != 0;
}

}  // namespace aftershock
