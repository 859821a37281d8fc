// Recorder gaps in crash states: a kGap record says the trace misses
// something from its seq on (trace::kGapScope*). A crash state whose
// content may differ from the model's because of it carries a
// GapDependence and must not be checked: a gap never becomes a verdict.
#include <fnmatch.h>

#include <set>

#include "model/crash_states.h"

namespace aftershock {

bool CrashStateGenerator::IsRebuilt(const std::string& rel) const {
  for (const std::string& pattern : options_.gap_rebuilt) {
    if (fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0) return true;
  }
  return false;
}

void CrashStateGenerator::NoteGap(const Op& op) {
  if (op.mode == trace::kGapScopeNone) return;  // refused or harmless: nothing was missed
  const std::string& root = tracking_.root();
  const bool inside = !op.path.empty() && op.path.size() > root.size() &&
                      op.path.compare(0, root.size(), root) == 0 && op.path[root.size()] == '/';
  Taint t;
  t.seq = op.seq;
  t.reason = "gap at op " + std::to_string(op.seq) + ": " +
             (inside ? op.path.substr(root.size() + 1) + ": " : "") + op.data;
  if (op.mode == trace::kGapScopeFile) {
    if (op.Has(trace::kFlagEscape) || (!op.path.empty() && !inside && op.path != root)) {
      return;  // a file outside the crash domain: no crash state holds it
    }
    if (inside && IsRebuilt(op.path.substr(root.size() + 1))) return;
    std::optional<InodeId> id = tracking_.BoundInode(op.dev, op.ino);
    if (!id && inside) id = tracking_.Lookup(op.path.substr(root.size() + 1));
    // A file the model cannot name could be any file: the whole domain.
    if (id) t.ino = *id;
  }
  taints_.push_back(std::move(t));
}

std::optional<GapDependence> CrashStateGenerator::DependenceOf(const FsState& state) const {
  for (const std::string& rel : options_.unknown_files) {
    if (rel.empty() || state.Lookup(rel)) return GapDependence{0, options_.unknown_reason};
  }
  if (taints_.empty()) return std::nullopt;
  std::set<InodeId> visible;
  bool walked = false;
  for (const Taint& t : taints_) {
    if (t.ino == kNoInode) return GapDependence{t.seq, t.reason};
    if (!walked) {
      state.Walk([&visible](const std::string&, InodeId id, const Inode&, const std::string&) {
        visible.insert(id);
      });
      walked = true;
    }
    if (visible.count(t.ino) != 0) return GapDependence{t.seq, t.reason};
  }
  return std::nullopt;
}

}  // namespace aftershock
