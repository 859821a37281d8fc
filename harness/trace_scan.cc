#include "harness/trace_scan.h"

#include <filesystem>
#include <set>

#include "model/trace.h"

namespace aftershock {

std::string FirstEscape(const std::string& trace_path, std::string* error,
                        const std::string& root) {
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) {
    if (!op->Has(trace::kFlagEscape)) continue;
    std::string line = FormatOp(*op);
    line = line.substr(std::min(line.size(), line.find_first_not_of(' ')));
    if (root.empty()) return line;
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
    return line;
  }
  if (!reader.ok()) *error = reader.Error();
  return "";
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

}  // namespace aftershock
