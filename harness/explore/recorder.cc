#include "harness/explore/recorder.h"

#include <filesystem>

#include "harness/explore/baseline.h"
#include "harness/explore/fault_arming.h"
#include "harness/explore/trace_scan.h"
#include "harness/target/daemon.h"
#include "harness/target/message.h"
#include "injector/launch.h"
#include "injector/marks.h"
#include "injector/trace_file.h"
#include "model/trace.h"
#include "reports/writers.h"

namespace aftershock {

std::string InterleavingPrefix(const Scenario& s, const Interleaving& il) {
  size_t first = s.steps.size();
  for (size_t i = 0; i < s.steps.size() && first == s.steps.size(); ++i) {
    if (s.steps[i].beside) first = i;
  }
  std::string p = il.step == first ? "" : "s" + std::to_string(il.step + 1);
  return p + "b" + std::to_string(il.hit) + ":";
}

bool ParseInterleavingId(const Scenario& s, const std::string& id, Interleaving* il,
                         std::string* rest) {
  size_t colon = id.find(':');
  if (colon == std::string::npos) return false;
  std::string head = id.substr(0, colon);
  size_t b = head.find('b');
  if (b == std::string::npos || b + 1 >= head.size()) return false;
  auto number = [](const std::string& t, int64_t* v) {
    if (t.empty() || t.size() > 9 || t.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    *v = std::stoll(t);
    return *v > 0;
  };
  Interleaving out;
  if (!number(head.substr(b + 1), &out.hit)) return false;
  if (b == 0) {
    out.step = s.steps.size();
    for (size_t i = 0; i < s.steps.size() && out.step == s.steps.size(); ++i) {
      if (s.steps[i].beside) out.step = i;
    }
  } else {
    int64_t step = 0;
    if (head[0] != 's' || !number(head.substr(1, b - 1), &step)) return false;
    out.step = static_cast<size_t>(step - 1);
  }
  if (out.step >= s.steps.size() || !s.steps[out.step].beside) return false;
  if (InterleavingPrefix(s, out) != head + ":") return false;
  *il = out;
  *rest = id.substr(colon + 1);
  return true;
}

namespace {

// One traced run of a scenario's workload (RecordWorkload): what its steps
// share, from the init command to the escape check.
class WorkloadRecorder {
 public:
  WorkloadRecorder(const Scenario& scenario, const Manifest& manifest, const ToolPaths& tools,
                   const std::string& work_dir, const Interleaving* interleaving);

  // RecordWorkload's contract; then Take() holds the recording.
  Status Record();
  Recording Take() { return std::move(rec_); }

 private:
  // The members below that return bool return false iff status_ holds an
  // error, recorded by one of these two.
  bool Fail(std::string message) {
    status_ = Status::Error(std::move(message));
    return false;
  }
  // Records `st` when it is an error; returns st.ok().
  bool Ok(Status st) {
    if (st.ok()) return true;
    status_ = std::move(st);
    return false;
  }
  // Runs init (untraced), copies the initial state, creates the trace.
  bool Prepare();
  // One step of the workload, from its snapshot to its `exit` and `ack` marks.
  bool RecordStep(size_t i);
  // Ends the daemon, takes the final state and checks for escapes.
  bool Finish();

  LaunchRequest Request(const std::string& command, const std::string& stdin_path, bool traced,
                        const std::string& faults);
  // A traced request for a command step: enqueue steps see their id and rcpts.
  LaunchRequest RequestFor(const Step& st, const std::string& command,
                           const std::string& stdin_path, const std::string& faults);
  bool Mark(std::string_view label, const std::string& data);
  // The acknowledgement of an enqueue step: its place in the order.
  bool Ack(const Step& st);
  bool Snapshot(size_t index);
  // Writes the message of enqueue step `st` under msgs/ and records it as
  // submitted. Returns the message; *path = where it lies.
  std::string Submit(const Step& st, std::string* path);

  // Daemon mode: `serve` stays up between steps; its life is marked with
  // `step serve` / `step shutdown` and `exit serve STATUS`.
  bool StartDaemon();
  bool StopDaemon();
  bool EnqueueToDaemon(const Step& step, const std::string& where);

  // The command of a command step: enqueue (message written), deliver,
  // restart. Returns false for a step without one.
  bool CommandOf(const Step& st, std::string* command, std::string* stdin_path);
  // Runs the command of step i (not daemon mode) into *o.
  bool RunStep(const Step& st, size_t i, const std::string& faults, LaunchOutcome* o);
  // Step i, started with a pause rule: when it pauses, its beside step runs.
  bool RunBesidePaused(const Step& host, size_t i, RunningCommand* started);
  // The beside step of step i, run to completion while step i is paused.
  bool RunBeside(const Step& host, size_t i);
  // The `exit` and `ack` marks of step i after its command ran.
  bool EndStep(const Step& step, size_t i, const LaunchOutcome& o);
  // Adds the command of `step` to rec_.commands; stops a sequential
  // recording at a command that hung or died without an armed fault.
  void NoteCommand(const std::string& what, const Step& step, const LaunchOutcome& o,
                   bool fault_armed);

  const Scenario& scenario_;
  const Manifest& manifest_;
  const std::string work_dir_;
  const Interleaving* const interleaving_;
  Status status_;  // the error that stopped the recording
  const std::string log_;
  Recording rec_;
  CommandContext ctx_;

  Daemon daemon_;
  const std::string daemon_faults_;
  // nth counts the daemon's calls during the steps a fault is armed for
  // (a restart step's shutdown and start-up included); parked outside steps.
  DaemonFaultArming arming_;

  // Beside steps: the sequential recording counts each host step's calls
  // of the beside point (a `count` rule), an interleaved one pauses the
  // host before its hit-th call (a `pause` rule), both after the
  // scenario's faults so that their rules keep their positions.
  const size_t beside_rule_;
  uint64_t counted_ = 0;
  uint64_t paused_pid_ = 0;
  uint64_t resumed_after_ = 0;
  std::string beside_what_;
};

WorkloadRecorder::WorkloadRecorder(const Scenario& scenario, const Manifest& manifest,
                                   const ToolPaths& tools, const std::string& work_dir,
                                   const Interleaving* interleaving)
    : scenario_(scenario),
      manifest_(manifest),
      work_dir_(work_dir),
      interleaving_(interleaving),
      log_(work_dir + "/commands.log"),
      daemon_faults_(DaemonFaults(scenario)),
      arming_(scenario, FaultsHeldByDaemon(scenario), work_dir + "/trace.bin"),
      beside_rule_(scenario.faults.size()) {
  rec_.work_dir = work_dir;
  rec_.run.root = work_dir + "/root";
  rec_.run.trace_path = work_dir + "/trace.bin";
  rec_.run.initial_dir = work_dir + "/initial";
  rec_.sink_log = work_dir + "/sink.log";

  ctx_.manifest = &manifest;
  ctx_.scenario_env = &scenario.env;
  ctx_.tools = &tools;
  ctx_.root = rec_.run.root;
  ctx_.sink_log = rec_.sink_log;
  ctx_.now = scenario.clock_start;
}

Status WorkloadRecorder::Record() {
  if (!Prepare()) return status_;
  if (manifest_.daemon() && !(Ok(arming_.ParkAll()) && StartDaemon())) return status_;
  if (beside_rule_ + 1 > 32) {
    return Status::Error(scenario_.file +
                         ": too many [[fault]] tables for a step with a beside step (31 at most)");
  }
  for (size_t i = 0; i < scenario_.steps.size() && !rec_.stopped; ++i) {
    if (!RecordStep(i)) return status_;
  }
  Finish();
  return status_;
}

bool WorkloadRecorder::Prepare() {
  namespace fs = std::filesystem;
  fs::create_directories(rec_.run.root);
  fs::create_directories(work_dir_ + "/msgs");
  fs::create_directories(work_dir_ + "/snap");
  if (!manifest_.init.empty()) {
    LaunchOutcome o = Launch(Request(manifest_.init, "", false, ""));
    if (!o.Succeeded()) {
      return Fail(manifest_.file + ": init failed (" + o.Describe() + "): `" + manifest_.init +
                  "`\n" + OutputSection(o.output, ""));
    }
  }
  if (!Ok(CopyTree(rec_.run.root, rec_.run.initial_dir))) return false;
  std::string error;
  if (!CreateTrace(rec_.run.trace_path, &error)) return Fail(error);
  return true;
}

bool WorkloadRecorder::RecordStep(size_t i) {
  const Step& step = scenario_.steps[i];
  if (!Snapshot(i)) return false;
  // After a protocol error the daemon is started again before the next
  // request, outside the enqueue step it serves.
  if (manifest_.daemon() && step.kind == StepKind::kEnqueue && !daemon_.running() &&
      !(Ok(arming_.ParkAll()) && StartDaemon())) {
    return false;
  }
  if (manifest_.daemon() && !Ok(arming_.EnterStep(i, step.kind))) return false;
  if (!Mark("step", step.MarkData())) return false;
  switch (step.kind) {
    case StepKind::kEnqueue:
      if (manifest_.daemon()) {
        return EnqueueToDaemon(step,
                               "step " + std::to_string(i + 1) + " (" + step.MarkData() + ")");
      }
      break;
    case StepKind::kDeliver:
      if (manifest_.deliver.empty()) return true;
      break;
    case StepKind::kRestart:
      if (manifest_.daemon() && !StopDaemon()) return false;
      if (manifest_.recover.empty()) return !manifest_.daemon() || StartDaemon();
      break;
    case StepKind::kTick:
      ctx_.now += step.seconds;
      return true;
  }
  LaunchOutcome o;
  if (!RunStep(step, i, FaultsFor(scenario_, i, step.kind), &o)) return false;
  return EndStep(step, i, o);
}

bool WorkloadRecorder::EndStep(const Step& step, size_t i, const LaunchOutcome& o) {
  std::string kind = StepKindName(step.kind);
  if (!o.error.empty()) {
    return Fail("step " + std::to_string(i + 1) + " (" + kind + "): " + o.error);
  }
  if (!Mark("exit", kind + " " + o.Status())) return false;
  NoteCommand("step " + std::to_string(i + 1) + " (" + step.MarkData() + ")", step, o,
              !FaultsFor(scenario_, i, step.kind).empty());
  if (step.kind == StepKind::kRestart && manifest_.daemon() && !StartDaemon()) return false;
  if (step.kind == StepKind::kEnqueue && o.Succeeded() && !Ack(step)) return false;
  if (!o.Succeeded()) {
    rec_.notes.push_back("step " + std::to_string(i + 1) + " (" + step.MarkData() +
                         ") ended with status " + o.Status() +
                         (o.limit.empty() ? "" : " (ran into " + o.limit + ")"));
  }
  return true;
}

void WorkloadRecorder::NoteCommand(const std::string& what, const Step& step,
                                   const LaunchOutcome& o, bool fault_armed) {
  CommandRun run;
  run.what = what;
  run.command = step.kind == StepKind::kEnqueue   ? manifest_.enqueue
                : step.kind == StepKind::kDeliver ? manifest_.deliver
                                                  : manifest_.recover;
  run.status = o.Status();
  run.enqueue = step.kind == StepKind::kEnqueue;
  run.fault_armed = fault_armed;
  // The end of it: what a person reads first, and bounded.
  size_t keep = std::min<size_t>(o.output.size(), 64 * 1024);
  run.output = o.output.substr(o.output.size() - keep);
  // A sequential recording goes no further than a command that hung or
  // died on its own: the baseline fails on it (and the steps after would
  // wait for their own timeouts).
  if (interleaving_ == nullptr && !fault_armed && (run.Hung() || run.Died())) rec_.stopped = true;
  rec_.commands.push_back(std::move(run));
}

bool WorkloadRecorder::Finish() {
  if (manifest_.daemon() && !Ok(arming_.ParkAll())) return false;
  if (!StopDaemon()) return false;
  rec_.run.final_snapshot = work_dir_ + "/snap/final";
  if (!ModelAvailable() && !Ok(CopyTree(rec_.run.root, rec_.run.final_snapshot))) return false;
  rec_.run.final_seq = LastSeq(rec_.run.trace_path) + 1;
  if (rec_.paused) {
    rec_.beside_label = beside_what_ + ", paused before " +
                        CallAfter(rec_.run.trace_path, rec_.run.root, paused_pid_, resumed_after_);
  }
  std::string escape;
  if (!Ok(FirstEscapeNotingGaps(rec_.run.trace_path, manifest_, rec_.run.root, &rec_.notes,
                                &escape))) {
    return false;
  }
  if (!escape.empty()) {
    return Fail(manifest_.file + ": target '" + manifest_.name +
                "' wrote outside its root (the crash domain): " + escape);
  }
  return true;
}

LaunchRequest WorkloadRecorder::Request(const std::string& command, const std::string& stdin_path,
                                        bool traced, const std::string& faults) {
  LaunchRequest r;
  r.command = ExpandCommand(command, ctx_);
  r.cwd = ctx_.root;
  r.stdin_path = stdin_path;
  r.output_path = log_;
  r.timeout_ms = manifest_.timeout_s * 1000;
  r.network = manifest_.network;
  if (traced) {
    r.trace_path = rec_.run.trace_path;
    r.root = ctx_.root;
    // Only the sink log and the messages lie outside the crash domain on purpose.
    r.allow = {rec_.sink_log, log_, work_dir_ + "/msgs/"};
    // Character devices hold no state a crash could lose (not /dev/shm!).
    for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/stdout",
                            "/dev/stderr", "/dev/fd/", "/dev/pts/", "/proc/self/fd/"}) {
      r.allow.push_back(dev);
    }
    r.faults = faults;
    r.unrecorded = ctx_.tools->Unrecorded();
  }
  ctx_.trace_path = traced ? rec_.run.trace_path : "";
  r.env = CommandEnvironment(ctx_);
  return r;
}

LaunchRequest WorkloadRecorder::RequestFor(const Step& st, const std::string& command,
                                           const std::string& stdin_path,
                                           const std::string& faults) {
  if (st.kind == StepKind::kEnqueue) {
    ctx_.id = st.id;
    ctx_.rcpts = st.rcpts;
  }
  LaunchRequest r = Request(command, stdin_path, true, faults);
  ctx_.id.clear();
  ctx_.rcpts.clear();
  return r;
}

bool WorkloadRecorder::Mark(std::string_view label, const std::string& data) {
  if (!AppendMark(rec_.run.trace_path, label, data)) {
    return Fail(rec_.run.trace_path + ": cannot append a mark");
  }
  return true;
}

bool WorkloadRecorder::Ack(const Step& st) {
  std::string data = st.id;
  for (const auto& r : st.rcpts) data += " " + r;
  return Mark("ack", data);
}

bool WorkloadRecorder::Snapshot(size_t index) {
  if (ModelAvailable()) return true;
  // Stand-in for the model: the seq the next mark will take is the crash point.
  uint64_t next = LastSeq(rec_.run.trace_path) + 1;
  std::string dir = work_dir_ + "/snap/" + std::to_string(index);
  if (!Ok(CopyTree(rec_.run.root, dir))) return false;
  rec_.run.snapshots.emplace_back(next, dir);
  return true;
}

std::string WorkloadRecorder::Submit(const Step& st, std::string* path) {
  *path = work_dir_ + "/msgs/" + st.id;
  std::string message = ComposeMessage(st.id, st.rcpts, st.body_size);
  // A message that could not be written reaches the command as none.
  (void)WriteFileAtomically(*path, message);
  rec_.messages[st.id] = Submitted{st.id, st.rcpts, st.body_size};
  return message;
}

bool WorkloadRecorder::StartDaemon() {
  if (!Mark("step", "serve")) return false;
  Status started = daemon_.Start(Request(manifest_.serve, "", true, daemon_faults_));
  if (!started.ok()) return Fail("cannot start serve: " + started.message());
  return true;
}

bool WorkloadRecorder::StopDaemon() {
  if (!daemon_.running()) return true;
  if (!Mark("step", "shutdown")) return false;
  std::string status = daemon_.Stop(manifest_.timeout_s * 1000);
  if (!Mark("exit", "serve " + status)) return false;
  if (status != "0") rec_.notes.push_back("serve ended with status " + status + " at shutdown");
  return true;
}

bool WorkloadRecorder::EnqueueToDaemon(const Step& step, const std::string& where) {
  std::string msg_path;
  std::string message = Submit(step, &msg_path);
  DaemonAnswer a = daemon_.Enqueue(step.id, step.rcpts, message, manifest_.timeout_s * 1000);
  CommandRun run;
  run.what = where;
  run.command = manifest_.serve + "   (daemon mode: ENQUEUE over its stdin)";
  run.status = a.kind == DaemonAnswer::Kind::kOk    ? "0"
               : a.kind == DaemonAnswer::Kind::kErr ? "err: " + a.detail
                                                    : "protocol error: " + a.detail;
  run.enqueue = true;
  run.fault_armed = !daemon_faults_.empty();
  rec_.commands.push_back(run);
  if (a.kind == DaemonAnswer::Kind::kOk) {
    // Before anything else: the acknowledgement's place in the order.
    return Ack(step);
  }
  if (a.kind == DaemonAnswer::Kind::kErr) {
    rec_.notes.push_back(where + ": serve answered err: " + a.detail);
    return true;
  }
  if (!Mark("exit", "serve " + daemon_.exit_status())) return false;
  rec_.notes.push_back(where + ": target error: serve broke the protocol (" + a.detail +
                       "); it ended with status " + daemon_.exit_status() +
                       " and is started again before the next enqueue");
  return true;
}

bool WorkloadRecorder::CommandOf(const Step& st, std::string* command, std::string* stdin_path) {
  stdin_path->clear();
  switch (st.kind) {
    case StepKind::kEnqueue:
      Submit(st, stdin_path);
      *command = manifest_.enqueue;
      break;
    case StepKind::kDeliver:
      *command = manifest_.deliver;
      break;
    case StepKind::kRestart:
      *command = manifest_.recover;
      break;
    case StepKind::kTick:
      command->clear();
      break;
  }
  return !command->empty();
}

bool WorkloadRecorder::RunStep(const Step& st, size_t i, const std::string& faults,
                               LaunchOutcome* o) {
  std::string command, stdin_path;
  CommandOf(st, &command, &stdin_path);
  bool host = interleaving_ != nullptr && interleaving_->step == i && st.beside;
  bool counting = interleaving_ == nullptr && st.beside;
  if (!host && !counting) {
    *o = Launch(RequestFor(st, command, stdin_path, faults));
    return true;
  }
  const std::string& point = st.beside->point;
  std::string rule = host ? "pause before " + point + " nth=" + std::to_string(interleaving_->hit)
                          : "count " + point;
  RunningCommand started(
      RequestFor(st, command, stdin_path, WithRuleAt(faults, beside_rule_, rule)));
  if (host && !RunBesidePaused(st, i, &started)) return false;
  *o = started.Wait();
  if (counting) {
    uint64_t total = started.RuleHits(static_cast<int>(beside_rule_));
    rec_.beside_hits[i] = total - counted_;
    counted_ = total;
  }
  return true;
}

bool WorkloadRecorder::RunBesidePaused(const Step& host, size_t i, RunningCommand* started) {
  int pid = started->WaitPausedOrEnded();
  if (pid == 0) return true;
  rec_.paused = true;
  paused_pid_ = static_cast<uint64_t>(pid);
  // The host goes on: its `step` mark again, so that what follows
  // (and a crash there) is the host's, not the beside step's.
  bool ok = RunBeside(host, i) && Mark("step", host.MarkData());
  resumed_after_ = LastSeq(rec_.run.trace_path);
  started->Resume();
  return ok;
}

bool WorkloadRecorder::RunBeside(const Step& host, size_t i) {
  const Step& b = host.beside->step;
  std::string command, stdin_path;
  if (!CommandOf(b, &command, &stdin_path)) return true;
  std::string kind = StepKindName(b.kind);
  if (!Mark("step", b.MarkData())) return false;
  rec_.beside_mark_seq = LastSeq(rec_.run.trace_path);
  LaunchOutcome o = Launch(RequestFor(b, command, stdin_path, ""));
  if (!o.error.empty()) {
    return Fail("beside step of step " + std::to_string(i + 1) + " (" + kind + "): " + o.error);
  }
  if (!Mark("exit", kind + " " + o.Status())) return false;
  NoteCommand("beside step of step " + std::to_string(i + 1) + " (" + b.MarkData() + ")", b, o,
              false);
  if (b.kind == StepKind::kEnqueue && o.Succeeded() && !Ack(b)) return false;
  if (!o.Succeeded()) {
    rec_.notes.push_back(kind + " beside step " + std::to_string(i + 1) + " (" + b.MarkData() +
                         ") ended with status " + o.Status() +
                         (o.limit.empty() ? "" : " (ran into " + o.limit + ")"));
  }
  beside_what_ = kind + (b.kind == StepKind::kEnqueue ? " " + b.id : "") + " ran beside step " +
                 std::to_string(i + 1) + " (" + host.MarkData() + ")";
  return true;
}

}  // namespace

Status RecordWorkload(const Scenario& scenario, const Manifest& manifest, const ToolPaths& tools,
                      const std::string& work_dir, Recording* out,
                      const Interleaving* interleaving) {
  WorkloadRecorder recorder(scenario, manifest, tools, work_dir, interleaving);
  if (Status st = recorder.Record(); !st.ok()) return st;
  *out = recorder.Take();
  return Status::Ok();
}

}  // namespace aftershock
