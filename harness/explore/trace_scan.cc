#include "harness/explore/trace_scan.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "model/trace.h"

namespace aftershock {

Status FirstEscape(const std::string& trace_path, std::string* escape, const std::string& root) {
  escape->clear();
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (!op->Has(trace::kFlagEscape)) continue;
    std::string line = FormatOp(*op);
    line = line.substr(std::min(line.size(), line.find_first_not_of(' ')));
    if (root.empty()) {
      *escape = line;
      return Status::Ok();
    }
    size_t pid = line.find("] ");
    if (line.find(" [pid ") != std::string::npos && pid != std::string::npos) {
      line = line.substr(pid + 2);
    }
    auto replace = [&](const std::string& from, const std::string& to) {
      for (size_t at = 0; (at = line.find(from, at)) != std::string::npos; at += to.size()) {
        line.replace(at, from.size(), to);
      }
    };
    replace(root + "/", "{root}/");
    replace(std::filesystem::path(root).parent_path().string() + "/", "{root}/../");
    *escape = line;
    return Status::Ok();
  }
  if (!reader.ok()) return Status::Error(reader.Error());
  return Status::Ok();
}

std::vector<std::string> UnignoredGaps(const std::string& trace_path, const Manifest& manifest,
                                       const std::string& root) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (op->kind != OpKind::kGap || !seen.insert(op->path + "\n" + op->data).second) continue;
    if (op->mode == trace::kGapScopeNone) continue;  // refused or harmless: nothing was missed
    std::string rel = op->path.rfind(root + "/", 0) == 0 ? op->path.substr(root.size() + 1) : "";
    if (!rel.empty() && IsRebuilt(manifest, rel)) continue;
    std::string where = rel.empty() ? op->path : rel;
    out.push_back((where.empty() ? "(no path)" : where) + ": " + op->data);
  }
  return out;
}

uint64_t LastSeq(const std::string& trace_path) {
  uint64_t last = 0;
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) last = std::max(last, op->seq);
  return last;
}

std::string CallAfter(const std::string& trace_path, const std::string& root, uint64_t pid,
                      uint64_t after) {
  auto rel = [&](const std::string& p) {
    return p.rfind(root + "/", 0) == 0 ? p.substr(root.size() + 1) : p;
  };
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (op->seq <= after || static_cast<uint64_t>(op->pid) != pid) continue;
    if (op->kind == OpKind::kMark || op->kind == OpKind::kGap || op->kind == OpKind::kMeta ||
        op->kind == OpKind::kFork || op->kind == OpKind::kExec || op->kind == OpKind::kExit) {
      continue;
    }
    std::string d = trace::KindName(op->kind);
    if (!op->path.empty()) d += " " + rel(op->path);
    if (!op->path2.empty()) d += " -> " + rel(op->path2);
    return d;
  }
  return "a call that never came (the process ended)";
}

Status FirstEscapeNotingGaps(const std::string& trace_path, const Manifest& manifest,
                             const std::string& root, std::vector<std::string>* notes,
                             std::string* escape) {
  escape->clear();
  TraceReader reader(trace_path);
  if (!reader.ok()) return Status::Error(reader.Error());
  std::set<std::string> gap_paths;
  while (auto op = reader.Next()) {
    if (op->Has(trace::kFlagEscape)) {
      std::string line = FormatOp(*op);
      *escape = line.substr(std::min(line.size(), line.find_first_not_of(' ')));
      return Status::Ok();
    }
    if (op->kind == OpKind::kGap && gap_paths.insert(op->path).second) {
      std::string rel = op->path.rfind(root + "/", 0) == 0 ? op->path.substr(root.size() + 1) : "";
      if (!rel.empty() && IsRebuilt(manifest, rel)) {
        notes->push_back("ignored gap (rebuilt by the target): " + rel + ": " + op->data);
      } else {
        notes->push_back("recorder gap: " + op->path + ": " + op->data +
                         " (crash states may miss what it did)");
      }
    }
  }
  if (!reader.ok()) return Status::Error(reader.Error());
  return Status::Ok();
}

}  // namespace aftershock
