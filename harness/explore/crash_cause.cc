#include "harness/explore/crash_cause.h"

#include <cctype>

namespace aftershock {
namespace {

// A path as a person groups it: the root as {root}, digit runs as '#'.
std::string PathPattern(const std::string& path, const std::string& root) {
  std::string p = path;
  if (p.rfind(root, 0) == 0) p = "{root}" + p.substr(root.size());
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(p[i]))) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += p[i];
    }
  }
  return out;
}

}  // namespace

void OpIndex::Load(const std::string& trace_path, const std::string& root) {
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (op->kind == OpKind::kMark || op->path.compare(0, root.size() + 1, root + "/") != 0) {
      continue;
    }
    ops_[op->seq] = {op->kind, op->path};
  }
}
std::string OpIndex::Describe(uint64_t seq, const std::string& root) const {
  auto it = ops_.find(seq);
  if (it == ops_.end()) return "";
  return std::string(trace::KindName(it->second.first)) + " " +
         PathPattern(it->second.second, root);
}
std::string OpIndex::DescribeBefore(uint64_t seq, const std::string& root) const {
  auto it = ops_.lower_bound(seq);
  if (it == ops_.begin()) return "";
  --it;
  return Describe(it->first, root);
}

std::string Cause(const CrashStateRef& s, const OpIndex& ops, const MailFacts& facts,
                  const std::string& root, uint64_t end_seq) {
  auto op = [&](uint64_t seq) {
    std::string d = ops.Describe(seq, root);
    return d.empty() ? "op " + std::to_string(seq) : d;
  };
  if (!s.dropped_seqs.empty()) return "dropped " + op(s.dropped_seqs.front());
  if (!s.torn_seqs.empty()) return "torn " + op(s.torn_seqs.front());
  if (!s.lost_seqs.empty()) return "lost to a failed fsync: " + op(s.lost_seqs.front());
  if (end_seq != 0 && s.crash_seq >= end_seq) return "no crash: the state the whole run left";
  std::string step = facts.StepAt(s.crash_seq);
  std::string before = ops.DescribeBefore(s.crash_seq, root);
  // Group by the step kind, not the message: "step 3 (enqueue m2)" -> "enqueue".
  std::string kind = step;
  size_t open = step.find('(');
  if (open != std::string::npos) {
    kind = step.substr(open + 1);
    kind = kind.substr(0, kind.find_first_of(" )"));
  }
  if (open == std::string::npos) return "crash before the first step";
  return "crash during " + kind + (before.empty() ? ", before its first op" : ", after " + before);
}

}  // namespace aftershock
