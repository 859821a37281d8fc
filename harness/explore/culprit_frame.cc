#include "harness/explore/culprit_frame.h"

#include <algorithm>

#include "injector/go_symbols.h"

namespace aftershock {
namespace {

using K = OpKind;

constexpr int kLook = 1000;  // an open that only reads (a directory listed, a file loaded)

// The opens (seqs) whose fd is then synced before it is closed: the way to
// fsync a directory, part of a sync, not a look at the file.
std::set<uint64_t> OpensForSync(const std::vector<Op>& ops) {
  std::map<std::pair<int, int>, uint64_t> open;  // (pid, fd) -> the open's seq
  std::set<uint64_t> synced;
  for (const Op& op : ops) {
    std::pair<int, int> key{op.pid, op.fd};
    if (op.kind == K::kOpen && !op.Failed()) open[key] = op.seq;
    if (op.kind == K::kClose) open.erase(key);
    if ((op.kind == K::kFsync || op.kind == K::kFdatasync) && open.count(key)) {
      synced.insert(open[key]);
    }
  }
  return synced;
}

// The kind of effect op has: a change to a file, a look at one (an open
// that creates nothing and is not there to sync), or a new process (the
// child's kFork record carries the parent's call stack). -1 for what every
// helper does along the way (syncs and the opens for them, closes), for
// events and for a failed call.
int EffectKind(const Op& op, const std::set<uint64_t>& opens_for_sync) {
  if (op.Failed()) return -1;
  switch (op.kind) {
    case K::kOpen:
      if (op.Has(trace::kFlagCreated)) return static_cast<int>(op.kind);
      return opens_for_sync.count(op.seq) ? -1 : kLook;
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
    case K::kFork:
      return static_cast<int>(op.kind);
    default:
      return -1;
  }
}

// The directory entry op made: a new name (create, mkdir, mknod, symlink,
// the target of link or rename), or "" for any other op.
std::string NewName(const Op& op) {
  if (op.Failed()) return "";
  switch (op.kind) {
    case K::kOpen:
      return op.Has(trace::kFlagCreated) ? op.path : "";
    case K::kMkdir:
    case K::kMknod:
    case K::kSymlink:
      return op.path;
    case K::kLink:
    case K::kRename:
      return op.path2;
    default:
      return "";
  }
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

bool IsDirectorySync(const Op& op) {
  return !op.Failed() && (op.kind == K::kFsync || op.kind == K::kFdatasync) &&
         op.Has(trace::kFlagDirectory);
}

bool SameFrame(const CodeSite& a, const CodeSite& b) {
  return a.module == b.module && a.offset == b.offset && a.function == b.function &&
         a.line == b.line;
}

}  // namespace

std::string FunctionKey(const CodeSite& site) {
  if (site.function.empty()) return "";
  return site.module + "|" + site.ShortFunction();
}

CulpritFrames::CulpritFrames(const std::vector<Op>& ops, Symbolizer* symbolizer)
    : symbolizer_(symbolizer) {
  std::set<uint64_t> opens_for_sync = OpensForSync(ops);
  for (const Op& op : ops) {
    int kind = EffectKind(op, opens_for_sync);
    if (kind < 0 || op.module.empty()) continue;
    std::set<std::string> seen;  // a recursive function counts once per op
    auto note = [&](const std::string& module, uint64_t offset) {
      for (const CodeSite& site : Locate(module, offset)) {
        std::string key = FunctionKey(site);
        if (!key.empty() && seen.insert(key).second) kinds_[key].insert(kind);
      }
    };
    note(op.module, op.call_offset);
    for (const StackFrame& f : op.callers) note(f.module, f.offset);
  }
  LearnDirectorySyncs(ops);
}

std::vector<CodeSite> CulpritFrames::LogicalStack(const Op& op) {
  std::vector<CodeSite> out;
  if (op.module.empty()) return out;
  for (const CodeSite& s : Locate(op.module, op.call_offset)) out.push_back(s);
  for (const StackFrame& f : op.callers) {
    for (const CodeSite& s : Locate(f.module, f.offset)) out.push_back(s);
  }
  return out;
}

void CulpritFrames::LearnDirectorySyncs(const std::vector<Op>& ops) {
  std::map<std::pair<int, std::string>, std::vector<size_t>> syncs;  // (pid, dir) -> op indexes
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!IsDirectorySync(ops[i])) continue;
    syncs[{ops[i].pid, ops[i].path}].push_back(i);
    for (const CodeSite& s : LogicalStack(ops[i])) dir_syncers_.insert(FunctionKey(s));
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    std::string name = NewName(ops[i]);
    auto it = name.empty() ? syncs.end() : syncs.find({ops[i].pid, Parent(name)});
    if (it == syncs.end()) continue;
    auto later = std::upper_bound(it->second.begin(), it->second.end(), i);
    if (later == it->second.end()) continue;
    // The functions that made the name and returned before the sync: below
    // the innermost function the two stacks share (same frames above it).
    std::vector<CodeSite> made = LogicalStack(ops[i]);
    std::vector<CodeSite> synced = LogicalStack(ops[*later]);
    size_t common = 0;
    while (common < made.size() && common < synced.size() &&
           SameFrame(made[made.size() - 1 - common], synced[synced.size() - 1 - common]))
      ++common;
    if (common >= made.size() || common >= synced.size()) continue;
    size_t shared = made.size() - 1 - common;  // the innermost shared function, at its own line
    if (FunctionKey(made[shared]) != FunctionKey(synced[synced.size() - 1 - common])) continue;
    for (size_t k = 0; k < shared; ++k) leave_dir_sync_.insert(FunctionKey(made[k]));
  }
}

std::vector<CodeSite> CulpritFrames::Locate(const std::string& module, uint64_t offset) {
  CodeSite site;
  site.module = module;
  site.offset = offset;
  if (symbolizer_ == nullptr) return {site};
  std::vector<CodeSite> out;
  for (const SourceLocation& loc : symbolizer_->LookupInlined(module, offset)) {
    site.file = loc.known() ? loc.file : "";
    site.line = loc.known() ? loc.line : 0;
    site.function = loc.function;
    out.push_back(site);
  }
  return out;
}

std::vector<StackEntry> CulpritFrames::StackOf(const Op& op) {
  std::vector<StackEntry> stack;
  if (op.module.empty() || op.call_offset == 0) return stack;
  auto add = [&](const std::string& module, uint64_t offset) {
    for (const CodeSite& site : Locate(module, offset)) {
      StackEntry e;
      static_cast<CodeSite&>(e) = site;
      auto it = kinds_.find(FunctionKey(e));
      // A frame of Go's runtime or standard library is no more the culprit
      // than libc is: passed over as a wrapper.
      bool go_runtime = symbolizer_ != nullptr && symbolizer_->IsGo(module) &&
                        inject::IsGoStandardFunction(e.function);
      e.wrapper = (it != kinds_.end() && it->second.size() == 1) || go_runtime;
      stack.push_back(std::move(e));
    }
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

size_t CulpritFrames::BlamedForName(const std::vector<StackEntry>& stack) const {
  size_t i = Blamed(stack);
  if (i + 1 >= stack.size()) return i;
  std::string key = FunctionKey(stack[i]);
  if (key.empty() || dir_syncers_.count(key) || !leave_dir_sync_.count(key)) return i;
  return i + 1;
}

std::string CulpritFrames::Method(const Op& op) {
  if (op.callers.empty()) return "";
  return op.stack_method == trace::kStackFramePointers ? "frame pointers" : "stack scan";
}

}  // namespace aftershock
