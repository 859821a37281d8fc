#include "injector/fidelity.h"

#include <stdlib.h>

#include "injector/trace_file.h"

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

FidelityResult CheckFidelity(FsState replayed, OpSource* ops, const std::string& trace_path) {
  FidelityResult r;
  const std::string root = replayed.root();
  while (std::optional<Op> op = ops->Next()) {
    Status st = replayed.Apply(*op);
    if (!st.ok()) {
      r.gap = "recorder gap: replaying the trace failed at op " + std::to_string(op->seq) + ": " +
              st.message();
      return r;
    }
  }
  if (!ops->Error().empty()) {
    r.gap = "recorder gap: " + ops->Error();
    return r;
  }
  Status st;
  std::optional<FsState> now = Capture(root, &st);
  if (!now) {
    r.gap = "cannot read the root after the run: " + st.message();
    return r;
  }
  now->SetRoot(root);
  for (const std::string& own : {trace_path, trace_path + ".seq"}) {
    if (trace_path.empty() || own.rfind(root + "/", 0) != 0) continue;
    Op forget;
    forget.kind = OpKind::kUnlink;
    forget.path = own;
    std::string rel = own.substr(root.size() + 1);
    for (FsState* s : {&*now, &replayed}) {
      if (!s->Lookup(rel)) continue;
      if (Status forgot = s->Apply(forget); !forgot.ok()) {
        r.gap = "cannot leave out the trace's own file: " + forgot.message();
        return r;
      }
    }
  }
  if (auto d = FirstDifference(replayed, *now)) {
    r.gap = "recorder gap: the trace does not reproduce the directory: " + d->Text();
    r.path = d->path.empty() ? root : root + "/" + d->path;
    r.name_missing = d->how == "only in the second";
    return r;
  }
  r.ok = true;
  return r;
}

FidelityResult CheckFidelity(const RootSnapshot& before, const Trace& trace,
                             const std::string& trace_path) {
  VectorOpSource ops(&trace.ops);
  // Copy-on-write: the snapshot stays as it was.
  return CheckFidelity(before.state, &ops, trace_path);
}

bool ReportFidelityGap(const std::string& trace_path, const FidelityResult& result) {
  if (result.ok) return false;
  Op gap;
  gap.kind = OpKind::kGap;
  gap.path = result.path;
  gap.data = result.gap;
  return AppendRecord(trace_path, gap) != 0;
}

}  // namespace aftershock
