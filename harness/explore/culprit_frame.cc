#include "harness/explore/culprit_frame.h"

namespace aftershock {
namespace {

using K = OpKind;

// The kind of change op makes, or -1 when it changes no file (reads,
// syncs, closes, events) or failed.
int ChangeKind(const Op& op) {
  if (op.Failed()) return -1;
  switch (op.kind) {
    case K::kOpen:
      return op.Has(trace::kFlagCreated) ? static_cast<int>(op.kind) : -1;
    case K::kWrite:
    case K::kTruncate:
    case K::kFallocate:
    case K::kRename:
    case K::kLink:
    case K::kUnlink:
    case K::kMkdir:
    case K::kRmdir:
    case K::kSymlink:
    case K::kChmod:
    case K::kMknod:
      return static_cast<int>(op.kind);
    default:
      return -1;
  }
}

}  // namespace

std::string FunctionKey(const CodeSite& site) {
  if (site.function.empty()) return "";
  return site.module + "|" + site.ShortFunction();
}

CulpritFrames::CulpritFrames(const std::vector<Op>& ops, Symbolizer* symbolizer)
    : symbolizer_(symbolizer) {
  for (const Op& op : ops) {
    int kind = ChangeKind(op);
    if (kind < 0 || op.module.empty()) continue;
    std::set<std::string> seen;  // a recursive function counts once per op
    auto note = [&](const std::string& module, uint64_t offset) {
      std::string key = FunctionKey(Locate(module, offset));
      if (!key.empty() && seen.insert(key).second) kinds_[key].insert(kind);
    };
    note(op.module, op.call_offset);
    for (const StackFrame& f : op.callers) note(f.module, f.offset);
  }
}

CodeSite CulpritFrames::Locate(const std::string& module, uint64_t offset) {
  CodeSite site;
  site.module = module;
  site.offset = offset;
  if (symbolizer_ == nullptr) return site;
  SourceLocation loc = symbolizer_->Lookup(module, offset);
  if (loc.known()) {
    site.file = loc.file;
    site.line = loc.line;
  }
  site.function = loc.function;
  return site;
}

std::vector<StackEntry> CulpritFrames::StackOf(const Op& op) {
  std::vector<StackEntry> stack;
  if (op.module.empty() || op.call_offset == 0) return stack;
  auto add = [&](const std::string& module, uint64_t offset) {
    StackEntry e;
    static_cast<CodeSite&>(e) = Locate(module, offset);
    auto it = kinds_.find(FunctionKey(e));
    e.wrapper = it != kinds_.end() && it->second.size() == 1;
    stack.push_back(std::move(e));
  };
  add(op.module, op.call_offset);
  for (const StackFrame& f : op.callers) add(f.module, f.offset);
  return stack;
}

size_t CulpritFrames::Blamed(const std::vector<StackEntry>& stack) {
  for (size_t i = 0; i < stack.size(); ++i) {
    if (!stack[i].wrapper) return i;
  }
  // Every frame only ever makes one kind of change: the outermost decided.
  return stack.empty() ? 0 : stack.size() - 1;
}

std::string CulpritFrames::Method(const Op& op) {
  if (op.callers.empty()) return "";
  return op.stack_method == trace::kStackFramePointers ? "frame pointers" : "stack scan";
}

}  // namespace aftershock
