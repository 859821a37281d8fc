#include "harness/recorder.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "harness/daemon.h"
#include "harness/fault_arming.h"
#include "harness/message.h"
#include "injector/launch.h"
#include "injector/marks.h"
#include "injector/trace_file.h"
#include "model/trace.h"

namespace aftershock {
namespace {

bool WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  return static_cast<bool>(out);
}

// The injector numbers rules by position and counts their hits across the
// whole recorded run, so every step gets every rule at the same position:
// a fault not armed for this step is a rule on a point that never fires.
// "nth" then counts calls during the steps the fault is armed for.
std::string FaultsFor(const Scenario& s, size_t step_index, StepKind kind) {
  bool any = false;
  for (const Fault& f : s.faults) any |= f.AppliesTo(step_index, kind);
  if (!any) return "";
  std::string spec;
  for (const Fault& f : s.faults) {
    if (!spec.empty()) spec += ';';
    spec += f.AppliesTo(step_index, kind) ? f.Spec() : "fail aftershock/inactive nth=1 errno=EIO";
  }
  return spec;
}

// `rule` at position `position` of a step's rules: after the scenario's
// faults (FaultsFor), or after as many rules that never match.
std::string WithRuleAt(const std::string& faults, size_t position, const std::string& rule) {
  std::string spec = faults;
  if (spec.empty()) {
    for (size_t i = 0; i < position; ++i) spec += "count aftershock/inactive;";
  } else {
    spec += ';';
  }
  return spec + rule;
}

// The highest seq in the trace (0 when empty or unreadable).
uint64_t LastSeq(const std::string& trace_path) {
  uint64_t last = 0;
  TraceReader reader(trace_path);
  while (auto op = reader.Next()) last = std::max(last, op->seq);
  return last;
}

// "rename queue/tmp/x -> queue/new/x": the first call of `pid` after seq
// `after`, the call a pause held back.
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

}  // namespace

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

// Daemon mode: the daemon lives across steps, so it gets every fault armed
// for an enqueue step, counted over its whole life.
// Rules keep their positions, as in FaultsFor.
std::string DaemonFaults(const Scenario& s) {
  bool any = false;
  std::string spec;
  for (const Fault& f : s.faults) {
    bool enqueue = false;
    for (size_t i = 0; i < s.steps.size(); ++i) {
      enqueue |= s.steps[i].kind == StepKind::kEnqueue && f.AppliesTo(i, StepKind::kEnqueue);
    }
    any |= enqueue;
    if (!spec.empty()) spec += ';';
    spec += enqueue ? f.Spec() : "fail aftershock/inactive nth=1 errno=EIO";
  }
  return any ? spec : "";
}

// The first escape in the trace, "" when none. Adds a note per recorder
// gap (once per path): ignored when the manifest lists the file as rebuilt.
std::string FindEscape(const std::string& trace_path, const Manifest& manifest,
                       const std::string& root, std::vector<std::string>* notes,
                       std::string* error) {
  TraceReader reader(trace_path);
  if (!reader.ok()) {
    *error = reader.Error();
    return "";
  }
  std::set<std::string> gap_paths;
  while (auto op = reader.Next()) {
    if (op->Has(trace::kFlagEscape)) {
      std::string line = FormatOp(*op);
      return line.substr(std::min(line.size(), line.find_first_not_of(' ')));
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
  if (!reader.ok()) *error = reader.Error();
  return "";
}

}  // namespace

bool RecordWorkload(const Scenario& scenario, const Manifest& manifest, const ToolPaths& tools,
                    const std::string& work_dir, Recording* out, std::string* error,
                    const Interleaving* interleaving) {
  namespace fs = std::filesystem;
  Recording rec;
  rec.work_dir = work_dir;
  rec.run.root = work_dir + "/root";
  rec.run.trace_path = work_dir + "/trace.bin";
  rec.run.initial_dir = work_dir + "/initial";
  rec.sink_log = work_dir + "/sink.log";
  fs::create_directories(rec.run.root);
  fs::create_directories(work_dir + "/msgs");
  fs::create_directories(work_dir + "/snap");
  std::string log = work_dir + "/commands.log";

  CommandContext ctx;
  ctx.manifest = &manifest;
  ctx.scenario_env = &scenario.env;
  ctx.tools = &tools;
  ctx.root = rec.run.root;
  ctx.sink_log = rec.sink_log;
  ctx.now = scenario.clock_start;

  auto request = [&](const std::string& command, const std::string& stdin_path, bool traced,
                     const std::string& faults) {
    LaunchRequest r;
    r.command = ExpandCommand(command, ctx);
    r.cwd = ctx.root;
    r.stdin_path = stdin_path;
    r.output_path = log;
    r.timeout_ms = manifest.timeout_s * 1000;
    if (traced) {
      r.trace_path = rec.run.trace_path;
      r.root = ctx.root;
      // Only the sink log and the messages lie outside the crash domain on purpose.
      r.allow = {rec.sink_log, log, work_dir + "/msgs/"};
      // Character devices hold no state a crash could lose (not /dev/shm!).
      for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/stdout",
                              "/dev/stderr", "/dev/fd/", "/dev/pts/", "/proc/self/fd/"}) {
        r.allow.push_back(dev);
      }
      r.faults = faults;
    }
    ctx.trace_path = traced ? rec.run.trace_path : "";
    r.env = CommandEnvironment(ctx);
    return r;
  };
  auto run = [&](const std::string& command, const std::string& stdin_path, bool traced,
                 const std::string& faults) {
    return Launch(request(command, stdin_path, traced, faults));
  };

  if (!manifest.init.empty()) {
    LaunchOutcome o = run(manifest.init, "", false, "");
    if (!o.Succeeded()) {
      *error = manifest.file + ": init failed (" + o.Status() + (o.error.empty() ? "" : ", ") +
               o.error + "); its output: " + log;
      return false;
    }
  }
  if (!CopyTree(rec.run.root, rec.run.initial_dir, error)) return false;
  if (!CreateTrace(rec.run.trace_path, error)) return false;
  auto mark = [&](std::string_view label, const std::string& data) {
    if (!AppendMark(rec.run.trace_path, label, data)) {
      *error = rec.run.trace_path + ": cannot append a mark";
      return false;
    }
    return true;
  };
  auto snapshot = [&](size_t index) {
    if (ModelAvailable()) return true;
    // Stand-in for the model: the seq the next mark will take is the crash point.
    uint64_t next = 1;
    TraceReader reader(rec.run.trace_path);
    while (auto op = reader.Next()) next = std::max(next, op->seq + 1);
    std::string dir = work_dir + "/snap/" + std::to_string(index);
    if (!CopyTree(rec.run.root, dir, error)) return false;
    rec.run.snapshots.emplace_back(next, dir);
    return true;
  };

  // Daemon mode: `serve` stays up between steps; its life is marked with
  // `step serve` / `step shutdown` and `exit serve STATUS`.
  Daemon daemon;
  std::string daemon_faults = DaemonFaults(scenario);
  // nth counts the daemon's calls during the steps a fault is armed for
  // (a restart step's shutdown and start-up included); parked outside steps.
  DaemonFaultArming arming(scenario, FaultsHeldByDaemon(scenario), rec.run.trace_path);
  auto start_daemon = [&]() {
    if (!mark("step", "serve")) return false;
    if (!daemon.Start(request(manifest.serve, "", true, daemon_faults), error)) {
      *error = "cannot start serve: " + *error;
      return false;
    }
    return true;
  };
  auto stop_daemon = [&]() {
    if (!daemon.running()) return true;
    if (!mark("step", "shutdown")) return false;
    std::string status = daemon.Stop(manifest.timeout_s * 1000);
    if (!mark("exit", "serve " + status)) return false;
    if (status != "0") rec.notes.push_back("serve ended with status " + status + " at shutdown");
    return true;
  };
  if (manifest.daemon() && !(arming.ParkAll(error) && start_daemon())) return false;

  // Beside steps: the sequential recording counts each host step's calls
  // of the beside point (a `count` rule), an interleaved one pauses the
  // host before its hit-th call (a `pause` rule), both after the
  // scenario's faults so that their rules keep their positions.
  const size_t beside_rule = scenario.faults.size();
  if (beside_rule + 1 > 32) {
    *error =
        scenario.file + ": too many [[fault]] tables for a step with a beside step (31 at most)";
    return false;
  }
  uint64_t counted = 0;
  uint64_t paused_pid = 0, resumed_after = 0;
  std::string beside_what;
  // The command of a command step: enqueue (message written), deliver, restart.
  auto command_of = [&](const Step& st, std::string* command, std::string* stdin_path) {
    stdin_path->clear();
    switch (st.kind) {
      case StepKind::kEnqueue: {
        *stdin_path = work_dir + "/msgs/" + st.id;
        WriteFile(*stdin_path, ComposeMessage(st.id, st.rcpts, st.body_size));
        rec.messages[st.id] = Submitted{st.id, st.rcpts, st.body_size};
        *command = manifest.enqueue;
        break;
      }
      case StepKind::kDeliver:
        *command = manifest.deliver;
        break;
      case StepKind::kRestart:
        *command = manifest.recover;
        break;
      case StepKind::kTick:
        command->clear();
        break;
    }
    return !command->empty();
  };
  auto request_for = [&](const Step& st, const std::string& command, const std::string& stdin_path,
                         const std::string& faults) {
    if (st.kind == StepKind::kEnqueue) {
      ctx.id = st.id;
      ctx.rcpts = st.rcpts;
    }
    LaunchRequest r = request(command, stdin_path, true, faults);
    ctx.id.clear();
    ctx.rcpts.clear();
    return r;
  };
  // The beside step of step i, run to completion while step i is paused.
  auto run_beside = [&](const Step& host, size_t i) {
    const Step& b = host.beside->step;
    std::string command, stdin_path;
    if (!command_of(b, &command, &stdin_path)) return true;
    std::string kind = StepKindName(b.kind);
    if (!mark("step", b.MarkData())) return false;
    rec.beside_mark_seq = LastSeq(rec.run.trace_path);
    LaunchOutcome o = Launch(request_for(b, command, stdin_path, ""));
    if (!o.error.empty()) {
      *error = "beside step of step " + std::to_string(i + 1) + " (" + kind + "): " + o.error;
      return false;
    }
    if (!mark("exit", kind + " " + o.Status())) return false;
    if (b.kind == StepKind::kEnqueue && o.Succeeded()) {
      std::string data = b.id;
      for (const auto& r : b.rcpts) data += " " + r;
      if (!mark("ack", data)) return false;
    }
    if (!o.Succeeded()) {
      rec.notes.push_back(kind + " beside step " + std::to_string(i + 1) + " (" + b.MarkData() +
                          ") ended with status " + o.Status());
    }
    beside_what = kind + (b.kind == StepKind::kEnqueue ? " " + b.id : "") + " ran beside step " +
                  std::to_string(i + 1) + " (" + host.MarkData() + ")";
    return true;
  };
  // Runs the command of step i (not daemon mode) into *o.
  auto run_step = [&](const Step& st, size_t i, const std::string& faults, LaunchOutcome* o) {
    std::string command, stdin_path;
    command_of(st, &command, &stdin_path);
    bool host = interleaving != nullptr && interleaving->step == i && st.beside;
    bool counting = interleaving == nullptr && st.beside;
    if (!host && !counting) {
      *o = Launch(request_for(st, command, stdin_path, faults));
      return true;
    }
    const std::string& point = st.beside->point;
    std::string rule = host ? "pause before " + point + " nth=" + std::to_string(interleaving->hit)
                            : "count " + point;
    RunningCommand started(
        request_for(st, command, stdin_path, WithRuleAt(faults, beside_rule, rule)));
    if (host) {
      int pid = started.WaitPausedOrEnded();
      if (pid != 0) {
        rec.paused = true;
        paused_pid = static_cast<uint64_t>(pid);
        // The host goes on: its `step` mark again, so that what follows
        // (and a crash there) is the host's, not the beside step's.
        bool ok = run_beside(st, i) && mark("step", st.MarkData());
        resumed_after = LastSeq(rec.run.trace_path);
        started.Resume();
        if (!ok) return false;
      }
    }
    *o = started.Wait();
    if (counting) {
      uint64_t total = started.RuleHits(static_cast<int>(beside_rule));
      rec.beside_hits[i] = total - counted;
      counted = total;
    }
    return true;
  };

  for (size_t i = 0; i < scenario.steps.size(); ++i) {
    const Step& step = scenario.steps[i];
    if (!snapshot(i)) return false;
    // After a protocol error the daemon is started again before the next
    // request, outside the enqueue step it serves.
    if (manifest.daemon() && step.kind == StepKind::kEnqueue && !daemon.running() &&
        !(arming.ParkAll(error) && start_daemon())) {
      return false;
    }
    if (manifest.daemon() && !arming.EnterStep(i, step.kind, error)) return false;
    if (!mark("step", step.MarkData())) return false;
    std::string faults = FaultsFor(scenario, i, step.kind);
    LaunchOutcome o;
    std::string kind = StepKindName(step.kind);
    std::string where = "step " + std::to_string(i + 1) + " (" + step.MarkData() + ")";
    switch (step.kind) {
      case StepKind::kEnqueue: {
        if (manifest.daemon()) {
          std::string msg_path = work_dir + "/msgs/" + step.id;
          std::string message = ComposeMessage(step.id, step.rcpts, step.body_size);
          WriteFile(msg_path, message);
          rec.messages[step.id] = Submitted{step.id, step.rcpts, step.body_size};
          DaemonAnswer a = daemon.Enqueue(step.id, step.rcpts, message, manifest.timeout_s * 1000);
          if (a.kind == DaemonAnswer::Kind::kOk) {
            // Before anything else: the acknowledgement's place in the order.
            std::string data = step.id;
            for (const auto& r : step.rcpts) data += " " + r;
            if (!mark("ack", data)) return false;
          } else if (a.kind == DaemonAnswer::Kind::kErr) {
            rec.notes.push_back(where + ": serve answered err: " + a.detail);
          } else {
            if (!mark("exit", "serve " + daemon.exit_status())) return false;
            rec.notes.push_back(where + ": target error: serve broke the protocol (" + a.detail +
                                "); it ended with status " + daemon.exit_status() +
                                " and is started again before the next enqueue");
          }
          continue;
        }
        if (!run_step(step, i, faults, &o)) return false;
        break;
      }
      case StepKind::kDeliver:
        if (manifest.deliver.empty()) continue;
        if (!run_step(step, i, faults, &o)) return false;
        break;
      case StepKind::kRestart:
        if (manifest.daemon() && !stop_daemon()) return false;
        if (manifest.recover.empty()) {
          if (manifest.daemon() && !start_daemon()) return false;
          continue;
        }
        if (!run_step(step, i, faults, &o)) return false;
        break;
      case StepKind::kTick:
        ctx.now += step.seconds;
        continue;
    }
    if (!o.error.empty()) {
      *error = "step " + std::to_string(i + 1) + " (" + kind + "): " + o.error;
      return false;
    }
    if (!mark("exit", kind + " " + o.Status())) return false;
    if (step.kind == StepKind::kRestart && manifest.daemon() && !start_daemon()) return false;
    if (step.kind == StepKind::kEnqueue && o.Succeeded()) {
      std::string data = step.id;
      for (const auto& r : step.rcpts) data += " " + r;
      if (!mark("ack", data)) return false;
    }
    if (!o.Succeeded()) {
      rec.notes.push_back("step " + std::to_string(i + 1) + " (" + step.MarkData() +
                          ") ended with status " + o.Status());
    }
  }
  if (manifest.daemon() && !arming.ParkAll(error)) return false;
  if (!stop_daemon()) return false;
  rec.run.final_snapshot = work_dir + "/snap/final";
  if (!ModelAvailable() && !CopyTree(rec.run.root, rec.run.final_snapshot, error)) return false;
  {
    TraceReader reader(rec.run.trace_path);
    uint64_t next = 1;
    while (auto op = reader.Next()) next = std::max(next, op->seq + 1);
    rec.run.final_seq = next;
  }
  if (rec.paused) {
    rec.beside_label = beside_what + ", paused before " +
                       CallAfter(rec.run.trace_path, rec.run.root, paused_pid, resumed_after);
  }
  std::string escape = FindEscape(rec.run.trace_path, manifest, rec.run.root, &rec.notes, error);
  if (!error->empty()) return false;
  if (!escape.empty()) {
    *error = manifest.file + ": target '" + manifest.name +
             "' wrote outside its root (the crash domain): " + escape;
    return false;
  }
  *out = std::move(rec);
  return true;
}

}  // namespace aftershock
