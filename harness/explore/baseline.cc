#include "harness/explore/baseline.h"

#include <filesystem>

#include "common/file_io.h"

namespace aftershock {
namespace {

// Why `c` breaks the baseline, or "" when it does not.
std::string CommandProblem(const CommandRun& c, int64_t timeout_s) {
  if (c.fault_armed) return "";  // a fault may be why it failed: that is the scenario's point
  if (c.Hung()) return "timed out after " + std::to_string(timeout_s) + " s";
  if (c.Died()) return "was killed by " + c.status;
  if (c.status == "not-started") return "did not start";
  if (c.enqueue && !c.Succeeded()) {
    std::string how = c.status.rfind("err", 0) == 0 || c.status.rfind("protocol", 0) == 0
                          ? "answered " + c.status
                          : "exited " + c.status;
    return how + ": the message was not acknowledged";
  }
  return "";
}

// Recovers and drains the state the run left; a violation there breaks
// the baseline.
Status CheckEndState(const PipelineContext& ctx, const PlannedRecording& rec,
                     const std::string& scratch, BaselineFailure* failure) {
  CrashStateRef end = EndStateOf(rec.rec.run);
  CheckInput input;
  std::filesystem::create_directories(scratch);
  // The input points into the crash point: it must outlive Check().
  const CrashPoint point = PointOf(rec.plan, rec.rec.run.final_seq);
  // Exec'd: the baseline is the ground truth the fork server is held to.
  if (Status st = RecoverState(rec.plan, end, point, scratch, &input, "", false); !st.ok()) {
    return st;
  }
  CheckResult r = Check(input);
  if (!IsViolation(r.verdict)) return Status::Ok();
  const Manifest& m = *ctx.manifest;
  failure->what = "after the workload's deliveries, recover and up to " +
                  std::to_string(m.drain_rounds) + " rounds of deliver on the state it left,";
  failure->command = m.recover.empty() ? m.deliver : m.recover + "; then " + m.deliver;
  failure->problem = "the acknowledged mail was not delivered intact (" +
                     std::string(VerdictName(r.verdict)) + ": " +
                     (input.recovery_failure.empty() ? r.detail : input.recovery_failure) + ")";
  failure->output = ReadFileBytes(scratch + "/commands.log");
  return Status::Ok();
}

}  // namespace

std::string LastLines(const std::string& output, size_t lines) {
  size_t end = output.size();
  if (end > 0 && output[end - 1] == '\n') --end;
  size_t start = end;
  for (size_t n = 0; n < lines && start > 0; ++n) {
    // From the second line on, start - 1 is the newline that ends the line
    // before: the search starts before it.
    if (n > 0 && start < 2) {
      start = 0;
      break;
    }
    size_t nl = output.rfind('\n', n == 0 ? start - 1 : start - 2);
    start = nl == std::string::npos ? 0 : nl + 1;
    if (nl == std::string::npos) break;
  }
  return output.substr(start, end - start);
}

std::string OutputSection(const std::string& output, const std::string& log) {
  if (output.empty()) return "  it wrote nothing to stdout or stderr\n";
  std::string head = "  its output (last " + std::to_string(kOutputLinesShown) + " lines" +
                     (log.empty() ? "" : "; all of it in " + log) + "):\n";
  std::string body;
  std::string tail = LastLines(output);
  size_t pos = 0;
  while (pos <= tail.size()) {
    size_t nl = tail.find('\n', pos);
    if (nl == std::string::npos) nl = tail.size();
    body += "    | " + tail.substr(pos, nl - pos) + "\n";
    pos = nl + 1;
  }
  return head + body;
}

Status CheckBaseline(const PipelineContext& ctx, const PlannedRecording& rec,
                     const std::string& scratch, BaselineFailure* failure) {
  *failure = BaselineFailure();
  bool acked = false;
  for (const CommandRun& c : rec.rec.commands) {
    std::string problem = CommandProblem(c, ctx.manifest->timeout_s);
    acked |= c.enqueue && c.Succeeded();
    if (problem.empty()) continue;
    *failure = {c.what, c.command, problem, c.output};
    return Status::Ok();
  }
  // The end state may show what a fault did, or the violation the scenario
  // expects (a regression scenario's); the fuzzer wants its losses.
  const Scenario& s = *ctx.scenario;
  if (!s.faults.empty() || !s.expect.violation.empty() || !ctx.baseline_end_state) {
    return Status::Ok();
  }
  // A target with neither deliver nor recover delivers at enqueue (a
  // delivery agent): the walk's "no crash" state judges what it left.
  if (ctx.manifest->deliver.empty() && ctx.manifest->recover.empty()) return Status::Ok();
  bool enqueues = false;
  for (const Step& st : s.steps) enqueues |= st.kind == StepKind::kEnqueue;
  if (enqueues && !acked) {
    *failure = {"the workload", ctx.manifest->enqueue, "no message was acknowledged", ""};
    return Status::Ok();
  }
  return CheckEndState(ctx, rec, scratch, failure);
}

std::string DescribeBaselineFailure(const BaselineFailure& f, const std::string& log) {
  return "baseline: without any crash, " + f.what + " " + f.problem +
         "; aftershock explored no crash state (the target or its manifest is broken, not "
         "crash-unsafe)\n  command: " +
         f.command + "\n" + OutputSection(f.output, log);
}

}  // namespace aftershock
