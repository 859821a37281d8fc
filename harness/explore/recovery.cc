#include "harness/explore/recovery.h"

#include <dirent.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/explore/trace_scan.h"
#include "harness/target/mailbox.h"
#include "harness/target/message.h"
#include "injector/launch.h"
#include "injector/marks.h"
#include "injector/trace_file.h"

namespace aftershock {
namespace {

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN) names.emplace_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Mailboxes to read: (recipient or "" for a shared one, path relative to root).
std::vector<std::pair<std::string, std::string>> Mailboxes(const RecoveryPlan& plan) {
  std::vector<std::pair<std::string, std::string>> boxes;
  const std::string& path = plan.manifest->mailbox_path;
  size_t at = path.find("{rcpt}");
  if (at == std::string::npos) {
    boxes.emplace_back("", path);
    return boxes;
  }
  std::set<std::string> rcpts;
  for (const auto& [id, m] : plan.recording->messages) rcpts.insert(m.rcpts.begin(), m.rcpts.end());
  for (const auto& r : rcpts) {
    std::string p = path;
    p.replace(at, 6, r);
    boxes.emplace_back(r, p);
  }
  return boxes;
}

// The recipients a copy in `rcpt`'s mailbox ("" = shared) counts for.
std::vector<std::string> CopyRcpts(const std::string& rcpt, const std::string& copy) {
  if (!rcpt.empty()) return {rcpt};
  ParsedCopy p = ParseCopy(copy);
  if (!p.delivered_to.empty()) return {p.delivered_to};
  return {};
}

void CollectMaildir(const RecoveryPlan& plan, const std::string& root,
                    std::vector<DeliveredCopy>* out) {
  for (const auto& [rcpt, box] : Mailboxes(plan)) {
    for (const char* sub : {"new", "cur"}) {
      std::string rel = box + "/" + sub;
      for (const auto& name : ListFiles(root + "/" + rel)) {
        DeliveredCopy c;
        c.copy = ReadFileBytes(root + "/" + rel + "/" + name);
        c.where = rel + "/" + name;
        c.rcpts = CopyRcpts(rcpt, c.copy);
        out->push_back(std::move(c));
      }
    }
  }
}

// Every message of every mbox file; a missing file holds none.
void CollectMbox(const RecoveryPlan& plan, const std::string& root,
                 std::vector<DeliveredCopy>* out) {
  for (const auto& [rcpt, box] : Mailboxes(plan)) {
    std::string bytes = ReadFileBytes(root + "/" + box);
    std::vector<MboxMessage> messages = SplitMbox(bytes);
    for (size_t i = 0; i < messages.size(); ++i) {
      MboxMessage& m = messages[i];
      DeliveredCopy c;
      c.copy = std::move(m.bytes);
      c.where = box + " at byte " + std::to_string(m.offset);
      c.rcpts = CopyRcpts(rcpt, c.copy);
      c.normalized = MboxNormalizations(m);
      c.closed_by_empty_line = m.terminated && !m.from_line.empty();
      if (i + 1 == messages.size()) c.mbox_tail = bytes.substr(m.offset);
      out->push_back(std::move(c));
    }
  }
}

// How many copies the mailboxes hold (to see whether a deliver round
// delivered anything).
size_t CountInRoot(const RecoveryPlan& plan, const std::string& root) {
  size_t n = 0;
  for (const auto& [rcpt, box] : Mailboxes(plan)) {
    if (plan.manifest->mailbox_kind == MailboxKind::kMbox) {
      n += SplitMbox(ReadFileBytes(root + "/" + box)).size();
      continue;
    }
    for (const char* sub : {"new", "cur"}) n += ListFiles(root + "/" + box + "/" + sub).size();
  }
  return n;
}

// [gaps] rebuilt: the target rebuilds these files on open and promised not
// to trust their bytes, so no crash state keeps them (whatever the recorded
// calls left there is not what a shared mapping held).
void RemoveRebuiltFiles(const Manifest& m, const std::string& root) {
  if (m.rebuilt.empty()) return;
  namespace fs = std::filesystem;
  std::vector<fs::path> doomed;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    if (IsRebuilt(m, fs::relative(it->path(), root, ec).string())) doomed.push_back(it->path());
  }
  for (const auto& p : doomed) fs::remove(p, ec);
}

}  // namespace

Status PreparePlan(RecoveryPlan* plan, MailFacts* facts) {
  if (Status st = facts->Load(plan->recording->run.trace_path); !st.ok()) return st;
  plan->facts = facts;
  std::vector<SinkRecord> records;
  if (!ReadSinkLog(plan->recording->sink_log, &records)) {
    return Status::Error(plan->recording->sink_log + ": unreadable");
  }
  for (auto& r : records) plan->recorded_copies[r.hash] = std::move(r.copy);
  return Status::Ok();
}

uint64_t CrashPoint::Key() const {
  std::string key = std::to_string(now);
  for (const auto& [id, rcpt] : acked) key += "|" + id + " " + rcpt;
  key += "#";
  for (const auto& id : submitted) key += id + " ";
  key += "#";
  for (const auto& d : before) key += Xxh64Hex(d.copy) + " " + d.where + "\n";
  return XXH64(key.data(), key.size(), 0);
}

CrashPoint PointOf(const RecoveryPlan& plan, uint64_t crash_seq) {
  CrashPoint p;
  p.acked = plan.facts->AckedBefore(crash_seq);
  p.submitted = plan.facts->SubmittedBefore(crash_seq);
  p.now = plan.scenario->clock_start + plan.facts->TicksBefore(crash_seq);
  if (plan.manifest->mailbox_in_root()) return p;
  for (const SinkMark& s : plan.facts->SinkBefore(crash_seq)) {
    DeliveredCopy c;
    c.rcpts = s.rcpts;
    auto it = plan.recorded_copies.find(s.hash);
    c.copy = it == plan.recorded_copies.end() ? "" : it->second;
    c.where = "sink before the crash";
    p.before.push_back(std::move(c));
  }
  return p;
}

namespace {

// One state's recovery in its scratch directory: recover (recorded when
// asked), then deliver until a round delivers nothing new, then the copies.
class StateRecovery {
 public:
  StateRecovery(const RecoveryPlan& plan, const CrashPoint& point, const std::string& scratch,
                const std::string& recover_trace, CheckInput* input, bool fork_server)
      : plan_(plan),
        m_(*plan.manifest),
        root_(scratch + "/root"),
        sink_log_(scratch + "/sink.log"),
        log_(scratch + "/commands.log"),
        recover_trace_(recover_trace),
        input_(input),
        fork_server_(fork_server && m_.fork_server) {
    ctx_.manifest = &m_;
    ctx_.scenario_env = &plan.scenario->env;
    ctx_.tools = plan.tools;
    ctx_.root = root_;
    ctx_.sink_log = sink_log_;
    ctx_.now = point.now;
  }

  // Runs recover and the drain. An error only when the harness failed.
  Status Run() {
    bool traced = !recover_trace_.empty();
    if (traced) {
      std::string error;
      if (!CreateTrace(recover_trace_, &error)) return Status::Error(error);
      AppendMark(recover_trace_, "step", "recover");
    }
    bool ok = m_.recover.empty() || Command(m_.recover, "recover", traced);
    if (ok && !m_.deliver.empty()) Drain();
    Collect();
    return Status::Ok();
  }

 private:
  LaunchRequest Request(const std::string& command, bool traced) {
    LaunchRequest r;
    r.command = ExpandCommand(command, ctx_);
    r.cwd = root_;
    r.timeout_ms = m_.timeout_s * 1000;
    r.network = m_.network;
    r.fork_server = fork_server_;
    r.fork_server_deferred = m_.fork_server_deferred;
    if (traced) {
      ctx_.trace_path = recover_trace_;
      r.trace_path = recover_trace_;
      r.root = root_;
      r.allow = {sink_log_,   log_,        "/dev/null",     "/dev/zero",
                 "/dev/full", "/dev/tty",  "/dev/stdout",   "/dev/stderr",
                 "/dev/fd/",  "/dev/pts/", "/proc/self/fd/"};
      r.unrecorded = ctx_.tools->Unrecorded();
    }
    r.env = CommandEnvironment(ctx_);
    ctx_.trace_path.clear();
    return r;
  }

  // Runs one command; false (with input_->recovery_failure) when it failed.
  bool Command(const std::string& command, const char* what, bool traced) {
    LaunchRequest request = Request(command, traced);
    LaunchOutcome o = Launch(request);
    // The log reads as a transcript: each command, its output, its end;
    // one append per command.
    std::ofstream(log_, std::ios::binary | std::ios::app)
        << "$ " << what << ": " << request.command << "\n"
        << o.output << (o.output.empty() || o.output.back() == '\n' ? "" : "\n") << "["
        << what << ": " << o.Describe() << "]\n";
    if (traced) {
      AppendMark(recover_trace_, "exit", "recover " + o.Status());
      // Outside the crash domain, a write is state no crash state holds:
      // the recovery is wrong whatever its status (as for the workload,
      // where an escape is an input error).
      // An unreadable trace shows no escape: its error is ignored.
      std::string escape;
      (void)FirstEscape(recover_trace_, &escape, root_);
      if (!escape.empty()) {
        input_->recovery_failure =
            std::string(what) + " wrote outside its root (the crash domain): " + escape;
        return false;
      }
    }
    if (o.Succeeded()) return true;
    input_->recovery_failure =
        std::string(what) +
        (o.end == LaunchOutcome::End::kTimedOut
             ? " timed out after " + std::to_string(m_.timeout_s) + " s"
         : o.end == LaunchOutcome::End::kSignaled ? " killed by signal " + std::to_string(o.code)
         : o.end == LaunchOutcome::End::kExited   ? " exited " + std::to_string(o.code)
                                                  : " did not start: " + o.error);
    std::string last = LastLine(o.output);
    if (!last.empty()) input_->recovery_failure += " (its last output: " + last + ")";
    return false;
  }

  static std::string LastLine(const std::string& output) {
    size_t end = output.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    size_t start = output.rfind('\n', end);
    std::string line = output.substr(start == std::string::npos ? 0 : start + 1,
                                     end + 1 - (start == std::string::npos ? 0 : start + 1));
    return line.size() > 200 ? line.substr(0, 200) + "..." : line;
  }

  size_t Count() const {
    return m_.mailbox_in_root() ? CountInRoot(plan_, root_) : CountSinkRecords(sink_log_);
  }

  void Drain() {
    size_t before = Count();
    for (int64_t round = 0; round < m_.drain_rounds; ++round) {
      if (!Command(m_.deliver, "deliver", false)) break;
      size_t after = Count();
      if (after == before) break;
      before = after;
    }
  }

  void Collect() {
    if (m_.mailbox_kind == MailboxKind::kMaildir) {
      CollectMaildir(plan_, root_, &input_->deliveries);
    } else if (m_.mailbox_kind == MailboxKind::kMbox) {
      CollectMbox(plan_, root_, &input_->deliveries);
    } else {
      std::vector<SinkRecord> records;
      ReadSinkLog(sink_log_, &records);
      for (auto& r : records) {
        DeliveredCopy c;
        c.rcpts = std::move(r.rcpts);
        c.copy = std::move(r.copy);
        c.where = "sink after recovery";
        input_->deliveries.push_back(std::move(c));
      }
    }
  }

  const RecoveryPlan& plan_;
  const Manifest& m_;
  const std::string root_, sink_log_, log_, recover_trace_;
  CheckInput* input_;
  const bool fork_server_;
  CommandContext ctx_;
};

}  // namespace

Status RecoverState(const RecoveryPlan& plan, const CrashStateRef& state, const CrashPoint& point,
                    const std::string& scratch, CheckInput* input,
                    const std::string& recover_trace, bool fork_server) {
  const Manifest& m = *plan.manifest;
  std::string root = scratch + "/root";
  if (Status st = MaterializeCrashState(state, root); !st.ok()) return st;
  RemoveRebuiltFiles(m, root);
  if (!recover_trace.empty()) {
    if (Status st = MaterializeCrashState(state, scratch + "/initial"); !st.ok()) return st;
    RemoveRebuiltFiles(m, scratch + "/initial");
  }
  input->messages = &plan.recording->messages;
  input->acked = point.acked;
  input->submitted = &point.submitted;
  // For a sink, copies handed over before the crash stay delivered; for
  // mailboxes in the root they count only if they are still in the state.
  input->deliveries = point.before;
  input->recovery_failure.clear();
  return StateRecovery(plan, point, scratch, recover_trace, input, fork_server).Run();
}

ForkServerCheck::Mode ForkServerCheck::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  if (off_) return Mode::kExec;
  if (asked_ < kStates) {
    ++asked_;
    return Mode::kCompare;
  }
  // Other workers wait (exec'd) until every comparison has agreed.
  return compared_ < kStates ? Mode::kExec : Mode::kFork;
}

void ForkServerCheck::Compared(const std::string& state, const std::string& difference) {
  std::lock_guard<std::mutex> lock(mu_);
  ++compared_;
  if (difference.empty() || off_) return;
  off_ = true;
  note_ = "the fork server was turned off: state " + state +
          " recovered differently forked than exec'd (" + difference +
          "); every later state was exec'd (set commands.fork_server = false to skip the check)";
}

std::string ForkServerCheck::Note() const {
  std::lock_guard<std::mutex> lock(mu_);
  return note_;
}

}  // namespace aftershock
