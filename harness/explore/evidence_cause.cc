#include "harness/explore/evidence_cause.h"

#include <fcntl.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>
#include <sstream>

#include "harness/explore/crash_cause.h"
#include "harness/explore/culprit_frame.h"
#include "reports/findings.h"

namespace aftershock {
namespace {

using K = OpKind;

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  size_t at = 0;
  while ((at = s.find(from, at)) != std::string::npos) {
    s.replace(at, from.size(), to);
    at += to.size();
  }
  return s;
}

bool IsEvent(K k) { return k == K::kMark || k == K::kMeta || k == K::kGap; }

bool Under(const std::string& path, const std::string& root) {
  return root.empty() || path == root ||
         (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
          path[root.size()] == '/');
}

// True iff the op acts inside the crash domain (a sink writing its log, or
// a shell reading its binaries, is not the target's state).
bool InDomain(const Op& op, const std::string& root) {
  return (!op.path.empty() && Under(op.path, root)) || (!op.path2.empty() && Under(op.path2, root));
}

struct Pieces {
  std::string call, args, result;
};

// FormatOp's line split into call, arguments and result, root stripped.
Pieces Split(const Op& op, const std::string& root) {
  std::string line = FormatOp(op);
  size_t head = line.find("] ");
  line = head == std::string::npos ? line : line.substr(head + 2);
  if (!root.empty()) line = ReplaceAll(ReplaceAll(line, root + "/", ""), root, ".");
  Pieces p;
  size_t open = line.find('(');
  if (open == std::string::npos) {
    p.call = line;
    return p;
  }
  p.call = line.substr(0, open);
  if (IsEvent(op.kind)) {
    size_t close = line.rfind(')');
    p.args =
        line.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
    return p;
  }
  size_t eq = line.rfind(") = ");
  if (eq == std::string::npos || eq < open) {
    p.args = line.substr(open + 1);
    return p;
  }
  p.args = line.substr(open + 1, eq - open - 1);
  p.result = line.substr(eq + 4);
  return p;
}

std::string OneLine(const Op& op, const std::string& root) {
  Pieces p = Split(op, root);
  return p.call + "(" + p.args + ")" + (p.result.empty() ? "" : " = " + p.result);
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// What must be synced for an op to survive a power loss.
struct Need {
  std::string path;  // absolute
  bool directory = false;
  uint64_t ino = 0;
};

std::vector<Need> NeedsOf(const Op& op) {
  switch (op.kind) {
    case K::kOpen:
      if (op.Has(trace::kFlagCreated) || (op.oflags & O_CREAT)) return {{Parent(op.path), true}};
      return {};
    case K::kRename:
      if (Parent(op.path) == Parent(op.path2)) return {{Parent(op.path2), true}};
      return {{Parent(op.path2), true}, {Parent(op.path), true}};
    case K::kLink:
      return {{Parent(op.path2), true}};
    case K::kSymlink:
    case K::kMknod:
    case K::kMkdir:
    case K::kUnlink:
    case K::kRmdir:
      return {{Parent(op.path), true}};
    case K::kWrite:
    case K::kTruncate:
    case K::kFallocate:
    case K::kChmod:
      return {{op.path, false, op.ino}};
    default:
      return {};
  }
}

bool Covers(const Op& sync, const Need& need) {
  if (sync.Failed()) return false;
  if (sync.kind == K::kSync || sync.kind == K::kSyncfs) return true;
  bool file_sync = sync.kind == K::kFdatasync || sync.kind == K::kSyncFileRange;
  if (sync.kind != K::kFsync && !(file_sync && !need.directory)) return false;
  if (need.ino != 0 && sync.ino == need.ino) return true;
  return !need.path.empty() && sync.path == need.path;
}

struct Ack {
  uint64_t seq = 0;
  std::vector<std::string> words;  // id, rcpts...
};

std::vector<Ack> Acks(const std::vector<Op>& ops) {
  std::vector<Ack> acks;
  for (const Op& op : ops) {
    if (op.kind == K::kMark && op.path == "ack") acks.push_back({op.seq, Words(op.data)});
  }
  return acks;
}

// The acknowledgement that promised the finding's pair, before the crash.
std::optional<uint64_t> PromiseOf(const std::vector<Ack>& acks, const MailFinding& f,
                                  uint64_t crash_seq) {
  for (const Ack& a : acks) {
    if (a.seq >= crash_seq || a.words.empty() || a.words[0] != f.id) continue;
    if (f.rcpt.empty() || std::find(a.words.begin() + 1, a.words.end(), f.rcpt) != a.words.end())
      return a.seq;
  }
  return std::nullopt;
}

std::string Subject(const CauseInput& in) {
  for (const MailFinding& f : in.mail) {
    if (f.kind == "lost") return "lost " + f.id + (f.rcpt.empty() ? "" : " to " + f.rcpt);
    if (f.kind == "corrupted") return "corrupted copy of " + f.id;
    if (f.kind == "phantom") return "phantom copy" + (f.id.empty() ? "" : " of " + f.id);
    if (f.kind == "duplicated")
      return "duplicated " + f.id + (f.rcpt.empty() ? "" : " to " + f.rcpt);
  }
  if (!in.recovery_failure.empty()) return "recovery failed (" + in.recovery_failure + ")";
  return std::string(VerdictName(in.verdict));
}

const MailFinding* MainFinding(const CauseInput& in) {
  for (const char* kind : {"lost", "corrupted", "phantom", "duplicated"}) {
    for (const MailFinding& f : in.mail) {
      if (f.kind == kind) return &f;
    }
  }
  return nullptr;
}

std::string Display(const Need& n, const std::string& root) {
  std::string rel = RelativeToRoot(n.path, root);
  return n.directory ? (rel == "." ? "the root directory" : "its directory `" + rel + "/`")
                     : "the file `" + rel + "`";
}

const Op* FindSeq(const std::vector<Op>& ops, uint64_t seq) {
  auto it = std::lower_bound(ops.begin(), ops.end(), seq,
                             [](const Op& op, uint64_t s) { return op.seq < s; });
  return it != ops.end() && it->seq == seq ? &*it : nullptr;
}

std::string OpRef(const Op& op, const std::string& root) {
  Pieces p = Split(op, root);
  return "op " + std::to_string(op.seq) + " `" + p.call + "(" + p.args + ")`";
}

// Why a dropped op was still pending: the first need not synced in time.
std::string WhyPending(const CauseInput& in, const Op& culprit, uint64_t deadline,
                       bool deadline_is_ack, uint64_t* sync_seq) {
  const std::vector<Op>& ops = *in.ops;
  std::vector<Need> needs = NeedsOf(culprit);
  for (const Need& need : needs) {
    const Op* sync = nullptr;
    for (const Op& op : ops) {
      if (op.seq > culprit.seq && Covers(op, need)) {
        sync = &op;
        break;
      }
    }
    std::string what = Display(need, in.root);
    if (sync == nullptr) return what + " is never fsynced after it";
    if (sync->seq >= deadline) {
      *sync_seq = sync->seq;
      return what + " is fsynced only at op " + std::to_string(sync->seq) + ", after the " +
             (deadline_is_ack ? "acknowledgement" : "crash");
    }
  }
  if (needs.empty()) return "under the " + in.model + " model it was still pending at the crash";
  return "every sync it needs comes before the " +
         std::string(deadline_is_ack ? "acknowledgement" : "crash") + ", yet the " + in.model +
         " model may still drop it (its ordering rules)";
}

std::string StepOf(const std::vector<WorkloadStep>& steps, uint64_t seq) {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (seq >= steps[i].seq && seq < steps[i].end_seq)
      return "step " + std::to_string(i + 1) + " (" + steps[i].what + ")";
  }
  return "";
}

std::string ProcessTail(const CauseInput& in) {
  switch (in.verdict) {
    case Verdict::kLost:
      return "recovery did not deliver the acknowledged message";
    case Verdict::kCorrupt:
      return "recovery delivered a damaged copy";
    case Verdict::kPhantom:
      return "recovery delivered a copy that was never submitted";
    case Verdict::kDuplicate:
      return "recovery delivered it again";
    case Verdict::kRecoveryFailed:
      return "then " + in.recovery_failure;
    default:
      return "recovery did not restore the promise";
  }
}

std::vector<WorkloadStep> Workload(const std::vector<Op>& ops, uint64_t trace_end) {
  std::vector<WorkloadStep> steps;
  for (const Op& op : ops) {
    if (op.kind != K::kMark) continue;
    if (op.path == "step") {
      if (!steps.empty()) steps.back().end_seq = op.seq;
      steps.push_back({op.seq, trace_end, op.data, ""});
    } else if (op.path == "exit" && !steps.empty()) {
      std::vector<std::string> w = Words(op.data);
      steps.back().exit = w.size() >= 2 ? op.data.substr(op.data.find(' ') + 1) : op.data;
    } else if (op.path == "ack" && !steps.empty()) {
      std::vector<std::string> w = Words(op.data);
      // The step's recipients, for "enqueue m1" steps whose mark names only the id.
      if (w.size() > 1 && steps.back().what.find('@') == std::string::npos) {
        for (size_t i = 1; i < w.size(); ++i) steps.back().what += " " + w[i];
      }
    }
  }
  return steps;
}

// The site of op's blamed frame (culprit_frame.h); fills *fill's site and
// stack when given. `dropped_name`: op is a name the crash dropped.
std::string SiteOf(const Op& op, CulpritFrames* frames, Culprit* fill, bool dropped_name = false) {
  std::vector<StackEntry> stack = frames->StackOf(op);
  if (stack.empty()) return "";
  size_t blamed = dropped_name ? frames->BlamedForName(stack) : CulpritFrames::Blamed(stack);
  std::string site = stack[blamed].Site();
  if (fill != nullptr) {
    static_cast<CodeSite&>(*fill) = stack[blamed];
    fill->frame = blamed;
    fill->stack_method = CulpritFrames::Method(op);
    fill->stack = std::move(stack);
  }
  return site;
}

// The op to blame and how: the earliest lost op ("dropped" or "torn"; what
// the crash dropped with it depends on it), else the removal of the last
// copy of the lost message ("removed", crash_cause.h RemovedLastCopy), else
// the last op in the crash domain before the crash ("crash point"). No op
// when there is none.
struct Blame {
  const Op* op = nullptr;
  std::string role;
  const Op* crash_op = nullptr;  // the last op before the crash, for "removed"
};

// The blame rule (crash_cause.h, BlamedSeq), as Cause applies it to group
// the state: a dropped or torn op on the lost or corrupt message's file.
Blame Blamed(const CauseInput& in, const std::vector<uint64_t>& lost) {
  const std::vector<Op>& ops = *in.ops;
  Blame b;
  std::vector<uint64_t> candidates;
  for (uint64_t s : lost) {
    const Op* op = FindSeq(ops, s);
    if (op != nullptr && !IsEvent(op->kind)) candidates.push_back(s);
  }
  MessageFiles files;
  for (const Op& op : ops) {
    if (op.seq >= in.crash_seq) break;
    files.Add(op);
  }
  const MailFinding* f = MainFinding(in);
  std::string id = f != nullptr && (f->kind == "lost" || f->kind == "corrupted") ? f->id : "";
  auto paths = [&](uint64_t seq) {
    const Op* op = FindSeq(ops, seq);
    return std::make_pair(op->path, op->path2);
  };
  if (auto seq = BlamedSeq(candidates, files, id, paths)) b.op = FindSeq(ops, *seq);
  if (b.op != nullptr) {
    bool torn =
        std::find(in.torn_seqs.begin(), in.torn_seqs.end(), b.op->seq) != in.torn_seqs.end();
    b.role = torn ? "torn" : "dropped";
    return b;
  }
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    if (it->seq < in.crash_seq && !IsEvent(it->kind) && InDomain(*it, in.root)) {
      b.op = &*it;
      b.role = "crash point";
      break;
    }
  }
  std::optional<uint64_t> removal =
      id.empty() || f->kind != "lost" ? std::nullopt : RemovedLastCopy(ops, in.crash_seq, id);
  if (b.op != nullptr && removal) {
    b.crash_op = b.op;
    b.op = FindSeq(ops, *removal);
    b.role = "removed";
  }
  return b;
}

// The root cause in words. *sync_seq: the sync that came too late, when
// WhyPending names one.
std::string RootCause(const CauseInput& in, const std::vector<WorkloadStep>& workload,
                      const Blame& blame, std::optional<uint64_t> promise, uint64_t* sync_seq) {
  const std::vector<Op>& ops = *in.ops;
  std::string subject = Subject(in);
  if (blame.op == nullptr) {
    return subject + ": no recorded op before the crash point (" + std::to_string(in.crash_seq) +
           ")";
  }
  const Op& culprit = *blame.op;
  if (blame.role == "dropped" || blame.role == "torn") {
    uint64_t deadline = promise ? *promise : in.crash_seq;
    std::string how = blame.role == "torn" ? " was torn by the crash (only part of it persisted)"
                                           : " was not made durable";
    return subject + ": " + OpRef(culprit, in.root) + how +
           (promise ? " before the acknowledgement at op " + std::to_string(*promise)
                    : " before the crash") +
           "; " + WhyPending(in, culprit, deadline, promise.has_value(), sync_seq);
  }
  std::string removed;
  if (blame.role == "removed") {
    removed = OpRef(culprit, in.root) + " removed the last name of it while no copy of it was " +
              "finished (closed or synced); ";
  }
  const Op& last = blame.crash_op != nullptr ? *blame.crash_op : culprit;
  if (ops.empty() || ops.back().seq < in.crash_seq) {
    // Past the last record: nothing was cut (e.g. two steps run beside
    // each other left this state without any crash).
    return subject + ": " + removed + "no crash: this is the state the whole run left, after " +
           OpRef(last, in.root) + "; " + ProcessTail(in);
  }
  std::string step = StepOf(workload, last.seq);
  return subject + ": " + removed + "the target was killed right after " + OpRef(last, in.root) +
         (step.empty() ? "" : " during " + step) +
         (promise ? ", after the acknowledgement at op " + std::to_string(*promise) : "") + "; " +
         ProcessTail(in);
}

// The seq of literally the last call before the crash (ops[crash_index] is
// the first record at or after it); 0 when none.
uint64_t CrashPoint(const std::vector<Op>& ops, size_t crash_index) {
  for (size_t i = crash_index; i > 0; --i) {
    if (!IsEvent(ops[i - 1].kind)) return ops[i - 1].seq;
  }
  return 0;
}

uint32_t TimelineFlags(const Op& op, const CauseInput& in, const Evidence& ev, const Blame& blame,
                       uint64_t crash_point, uint64_t sync_seq) {
  auto has = [](const std::vector<uint64_t>& v, uint64_t s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  uint32_t flags = 0;
  if (op.seq == crash_point) flags |= kTimelineCrashPoint;
  if (has(ev.dropped_seqs, op.seq)) flags |= kTimelineDropped;
  if (has(in.torn_seqs, op.seq)) flags |= kTimelineTorn;
  if (op.kind == K::kMark && op.path == "ack") flags |= kTimelineAck;
  if (op.kind == K::kMark && op.path == "step") flags |= kTimelineStep;
  if (op.kind == K::kMark && op.path == "sink") flags |= kTimelineSink;
  if (blame.op && op.seq == blame.op->seq) flags |= kTimelineCulprit;
  if (sync_seq && op.seq == sync_seq) flags |= kTimelineSync;
  if (op.seq >= in.crash_seq) flags |= kTimelineAfterCrash;
  return flags;
}

// The timeline: the ops around the crash point and every `marked` one.
void FillTimeline(const CauseInput& in, CulpritFrames* frames, const Blame& blame,
                  const std::set<uint64_t>& marked, uint64_t sync_seq, Evidence* out) {
  const std::vector<Op>& ops = *in.ops;
  auto crash_it = std::lower_bound(ops.begin(), ops.end(), in.crash_seq,
                                   [](const Op& op, uint64_t s) { return op.seq < s; });
  size_t crash_index = static_cast<size_t>(crash_it - ops.begin());
  size_t from = crash_index > kTimelineContext ? crash_index - kTimelineContext : 0;
  size_t to = std::min(ops.size(), crash_index + kTimelineContext);
  uint64_t crash_point = CrashPoint(ops, crash_index);
  out->timeline.clear();
  int64_t shown_total = 0;
  int64_t recorded = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.kind == K::kMeta) continue;
    ++recorded;
    bool in_window = i >= from && i < to;
    if (!in_window && !marked.count(op.seq)) continue;
    if (out->timeline.size() >= kTimelineMax) continue;
    TimelineEntry t;
    Pieces p = Split(op, in.root);
    t.seq = op.seq;
    t.pid = op.pid;
    t.call = op.kind == K::kMark ? "mark " + op.path : p.call;
    t.args = op.kind == K::kMark ? op.data : p.args;
    t.result = p.result;
    t.site = SiteOf(op, frames, nullptr);
    t.flags = TimelineFlags(op, in, *out, blame, crash_point, sync_seq);
    out->timeline.push_back(std::move(t));
    ++shown_total;
  }
  out->timeline_omitted = recorded - shown_total;
}

}  // namespace

std::string RelativeToRoot(const std::string& path, const std::string& root) {
  if (root.empty()) return path;
  if (path == root) return ".";
  if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
      path[root.size()] == '/')
    return path.substr(root.size() + 1);
  return path;
}

void DeriveEvidence(const CauseInput& in, Symbolizer* sym, Evidence* out) {
  const std::vector<Op>& ops = *in.ops;
  CulpritFrames frames(ops, sym);
  out->present = true;
  out->model = in.model;
  out->strategy = in.strategy;
  out->crash_seq = in.crash_seq;
  out->trace_end = ops.empty() ? 0 : ops.back().seq + 1;
  out->torn_seqs = in.torn_seqs;
  out->dropped_seqs.clear();
  for (uint64_t s : in.dropped_seqs) {
    if (std::find(in.torn_seqs.begin(), in.torn_seqs.end(), s) == in.torn_seqs.end())
      out->dropped_seqs.push_back(s);
  }
  out->workload = Workload(ops, out->trace_end);
  out->mail = in.mail;

  // The promise the main finding broke, and the op to blame.
  std::vector<Ack> acks = Acks(ops);
  const MailFinding* finding = MainFinding(in);
  std::optional<uint64_t> promise;
  if (finding != nullptr) promise = PromiseOf(acks, *finding, in.crash_seq);
  std::vector<uint64_t> lost = out->dropped_seqs;
  lost.insert(lost.end(), in.torn_seqs.begin(), in.torn_seqs.end());
  std::sort(lost.begin(), lost.end());
  Blame blame = Blamed(in, lost);
  const Op* culprit = blame.op;

  // A promise made before the culprit op was not broken by it.
  if (culprit != nullptr && (blame.role == "dropped" || blame.role == "torn") && promise &&
      *promise < culprit->seq)
    promise.reset();

  uint64_t sync_seq = 0;
  out->root_cause = RootCause(in, out->workload, blame, promise, &sync_seq);
  if (culprit != nullptr) {
    out->culprit.known = true;
    out->culprit.seq = culprit->seq;
    out->culprit.role = blame.role;
    out->culprit.op = OneLine(*culprit, in.root);
    bool name = ChangesADirectory(trace::KindName(culprit->kind));
    SiteOf(*culprit, &frames, &out->culprit, blame.role == "dropped" && name);
  }

  std::set<uint64_t> marked(lost.begin(), lost.end());
  if (culprit) marked.insert(culprit->seq);
  if (sync_seq) marked.insert(sync_seq);
  if (promise) marked.insert(*promise);
  FillTimeline(in, &frames, blame, marked, sync_seq, out);
}

}  // namespace aftershock
