// Words for people: one-line summaries of ops and descriptions of states.
#include <fcntl.h>

#include <cstdio>

#include "model/crash_states.h"

namespace aftershock {

std::string CrashStateGenerator::Describe(const CrashState& cs) const {
  std::string s = cs.crash_seq == 0 && point_summary_.empty()
                      ? "before the first op"
                      : "after op " + std::to_string(cs.crash_seq) + " (" + point_summary_ + ")";
  auto summary_of = [this](uint64_t seq) -> std::string {
    for (size_t i = 0; i < window_.size(); ++i) {
      if (window_.at(i).seq == seq) return window_.at(i).summary;
    }
    return "?";
  };
  constexpr size_t kListed = 6;
  if (!cs.dropped_seqs.empty()) {
    s += "; dropped";
    for (size_t i = 0; i < cs.dropped_seqs.size() && i < kListed; ++i) {
      s += (i == 0 ? " op " : ", op ") + std::to_string(cs.dropped_seqs[i]) + " (" +
           summary_of(cs.dropped_seqs[i]) + ")";
    }
    if (cs.dropped_seqs.size() > kListed) {
      s += " and " + std::to_string(cs.dropped_seqs.size() - kListed) + " more";
    }
  }
  for (const TornInfo& t : cs.torn) {
    s += "; op " + std::to_string(t.seq) + " (" + summary_of(t.seq) + ") torn: sectors ";
    for (size_t k = 0; k < t.sectors.kept.size(); ++k) {
      s += (k == 0 ? "" : ",") + std::to_string(t.sectors.kept[k]);
    }
    s += " of 0-" + std::to_string(t.sector_count - 1) + " (" +
         std::to_string(t.sectors.sector_bytes) + " B) persisted";
  }
  if (!lost_.empty()) {
    s += "; lost to a failed fsync:";
    for (size_t i = 0; i < lost_.size() && i < kListed; ++i) {
      s += (i == 0 ? " op " : ", op ") + std::to_string(lost_[i].first) + " (" + lost_[i].second +
           ")";
    }
    if (lost_.size() > kListed) s += " and " + std::to_string(lost_.size() - kListed) + " more";
  }
  return s;
}

std::string CrashStateGenerator::Summarize(const Op& op) const {
  const std::string& root = tracking_.root();
  auto rel = [&root](const std::string& p) {
    if (!root.empty() && p.size() > root.size() && p.compare(0, root.size(), root) == 0 &&
        p[root.size()] == '/') {
      return p.substr(root.size() + 1);
    }
    return p == root && !root.empty() ? std::string(".") : p;
  };
  using K = OpKind;
  std::string name = trace::KindName(op.kind);
  switch (op.kind) {
    case K::kOpen:
      if (op.Has(trace::kFlagCreated)) return "create " + rel(op.path);
      if ((op.oflags & O_TRUNC) != 0) return "open(O_TRUNC) " + rel(op.path);
      return "open " + rel(op.path);
    case K::kWrite:
      return "write " + rel(op.path) + " " + std::to_string(op.result) + " B @" +
             std::to_string(op.offset);
    case K::kRename:
    case K::kLink:
      return name + " " + rel(op.path) + " -> " + rel(op.path2);
    case K::kSymlink:
      return "symlink " + rel(op.path) + " -> " + op.data;
    case K::kChmod: {
      char m[16];
      std::snprintf(m, sizeof m, " 0%o", op.mode & 07777);
      return "chmod " + rel(op.path) + m;
    }
    case K::kTruncate:
      return "truncate " + rel(op.path) + " to " + std::to_string(op.length);
    case K::kMark:
      return op.path + " " + op.data;
    case K::kSync:
      return "sync";
    case K::kFsync:
    case K::kFdatasync:
      return name + " " + rel(op.path) + (op.Failed() ? " failed (EIO)" : "");
    default:
      return name + " " + rel(op.path);
  }
}

}  // namespace aftershock
