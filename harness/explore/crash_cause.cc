#include "harness/explore/crash_cause.h"

#include <algorithm>
#include <cctype>
#include <map>

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

std::vector<std::string> MessageIdsIn(const std::string& data) {
  static const std::string kHeader = "X-Aftershock-Id: ";
  std::vector<std::string> ids;
  for (size_t at = data.find(kHeader); at != std::string::npos; at = data.find(kHeader, at + 1)) {
    size_t from = at + kHeader.size();
    size_t end = data.find_first_of("\r\n", from);
    if (end == std::string::npos) break;  // cut short: not a whole header
    ids.push_back(data.substr(from, end - from));
  }
  return ids;
}

void MessageFiles::Add(const Op& op) {
  if (op.Failed()) return;
  if (op.kind == OpKind::kWrite) {
    for (const std::string& id : MessageIdsIn(op.data)) paths_[id].insert(op.path);
    return;
  }
  if ((op.kind == OpKind::kRename || op.kind == OpKind::kLink) && !op.path2.empty()) {
    for (auto& [id, paths] : paths_) {
      if (paths.count(op.path)) paths.insert(op.path2);
    }
  }
}

std::optional<uint64_t> RemovedLastCopy(const std::vector<Op>& ops, uint64_t crash_seq,
                                        const std::string& id) {
  using K = OpKind;
  std::map<std::string, bool> names;  // a name that holds `id` -> its copy is finished
  auto finished_elsewhere = [&](const std::string& except) {
    for (const auto& [name, done] : names) {
      if (done && name != except) return true;
    }
    return false;
  };
  std::set<std::string> gone;  // removed names: an open fd still writes the nameless file
  std::optional<uint64_t> blamed;
  for (const Op& op : ops) {
    if (op.seq >= crash_seq) break;
    if (op.Failed()) continue;
    if (op.kind == K::kOpen && op.Has(trace::kFlagCreated)) gone.erase(op.path);
    if (gone.count(op.path)) continue;
    auto it = names.find(op.path);
    if (op.kind == K::kWrite) {
      auto ids = MessageIdsIn(op.data);
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) names[op.path] = false;
    } else if (it == names.end()) {
      continue;
    } else if (op.kind == K::kClose || op.kind == K::kFsync || op.kind == K::kFdatasync) {
      it->second = true;
      blamed.reset();  // a finished copy after the removal: it did not lose the message
    } else if (op.kind == K::kLink || op.kind == K::kRename) {
      names[op.path2] = it->second;
      if (op.kind == K::kRename) names.erase(op.path);
    } else if (op.kind == K::kUnlink || op.kind == K::kRmdir) {
      if (!finished_elsewhere(op.path)) blamed = op.seq;
      names.erase(it);
      gone.insert(op.path);
    }
  }
  return blamed;
}

const std::set<std::string>* MessageFiles::PathsOf(const std::string& id) const {
  auto it = paths_.find(id);
  return it == paths_.end() || it->second.empty() ? nullptr : &it->second;
}

std::optional<uint64_t> BlamedSeq(
    const std::vector<uint64_t>& candidates, const MessageFiles& files, const std::string& id,
    const std::function<std::pair<std::string, std::string>(uint64_t)>& paths_of) {
  if (candidates.empty()) return std::nullopt;
  const std::set<std::string>* held = id.empty() ? nullptr : files.PathsOf(id);
  if (held == nullptr) return candidates.front();
  for (uint64_t seq : candidates) {
    auto [path, path2] = paths_of(seq);
    if (held->count(path) || (!path2.empty() && held->count(path2))) return seq;
  }
  return std::nullopt;
}

void OpIndex::Load(const std::string& trace_path, const std::string& root) {
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    files_.Add(*op);
    if (op->kind == OpKind::kMark || op->path.compare(0, root.size() + 1, root + "/") != 0) {
      continue;
    }
    ops_[op->seq] = {op->kind, op->path, op->path2};
  }
}

std::pair<std::string, std::string> OpIndex::PathsOf(uint64_t seq) const {
  auto it = ops_.find(seq);
  if (it == ops_.end()) return {"", ""};
  return {it->second.path, it->second.path2};
}

std::string OpIndex::Describe(uint64_t seq, const std::string& root) const {
  auto it = ops_.find(seq);
  if (it == ops_.end()) return "";
  return std::string(trace::KindName(it->second.kind)) + " " + PathPattern(it->second.path, root);
}
std::string OpIndex::DescribeBefore(uint64_t seq, const std::string& root) const {
  auto it = ops_.lower_bound(seq);
  if (it == ops_.begin()) return "";
  --it;
  return Describe(it->first, root);
}

std::string Cause(const CrashStateRef& s, const OpIndex& ops, const MailFacts& facts,
                  const std::string& root, uint64_t end_seq, const std::string& message_id) {
  auto op = [&](uint64_t seq) {
    std::string d = ops.Describe(seq, root);
    return d.empty() ? "op " + std::to_string(seq) : d;
  };
  auto paths = [&](uint64_t seq) { return ops.PathsOf(seq); };
  if (auto d = BlamedSeq(s.dropped_seqs, ops.files(), message_id, paths))
    return "dropped " + op(*d);
  if (auto t = BlamedSeq(s.torn_seqs, ops.files(), message_id, paths)) return "torn " + op(*t);
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
