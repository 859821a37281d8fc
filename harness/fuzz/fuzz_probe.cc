#include "harness/fuzz/fuzz_probe.h"

#include <filesystem>

#include "common/file_io.h"
#include "harness/explore/baseline.h"
#include "harness/explore/pipeline.h"
#include "harness/target/run_dir.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

// Counts what the walks of one probe saw; stops at the first violation
// when asked to.
class ProbeTally {
 public:
  ProbeTally(const ProbeSetup& setup, bool stop_at_first, ProbeResult* out)
      : setup_(setup), stop_at_first_(stop_at_first), out_(out) {}

  // Returns false to stop the walk.
  bool Add(size_t model_index, const std::string& cause_prefix, const CheckedState& c) {
    ProbeModel& pm = out_->models[model_index];
    Verdict v = c.entry.verdict;
    if (setup_.states_done) setup_.states_done->fetch_add(1);
    ++pm.verdicts[static_cast<int>(v)];
    ++pm.states;
    ++out_->states;
    if (!IsViolation(v)) return true;
    if (!out_->violation) {
      out_->violation = true;
      out_->verdict = v;
      out_->model = pm.model;
      out_->detail = cause_prefix + c.entry.detail;
      out_->description = c.state->id.find(':') == std::string::npos
                              ? c.state->description
                              : c.state->id + ": " + c.state->description;
    }
    if (!stop_at_first_) return true;
    stopped_ = true;
    pm.complete = false;
    return false;
  }
  bool stopped() const { return stopped_; }

 private:
  const ProbeSetup& setup_;
  bool stop_at_first_;
  ProbeResult* out_;
  bool stopped_ = false;
};

}  // namespace

Status ProbeWorkload(const Scenario& s, const ProbeSetup& setup, const std::string& work_dir,
                     bool stop_at_first, ProbeResult* out) {
  *out = ProbeResult();
  struct Cleanup {
    const ProbeSetup& setup;
    const std::string& dir;
    ~Cleanup() {
      if (fs::exists(dir)) RemoveTreeInside(setup.run_dir, dir);
    }
  } cleanup{setup, work_dir};
  fs::create_directories(work_dir);
  for (const std::string& model : s.models) {
    ProbeModel pm;
    pm.model = model;
    out->models.push_back(pm);
  }
  PipelineContext ctx{&s, setup.manifest, setup.tools, setup.run_dir, setup.jobs, SilentObserver()};
  ctx.baseline_end_state = false;
  ctx.fork_check = setup.fork_check;
  // Identical states (same content, same promises) are checked once across
  // the models and the recordings, as `aftershock run` does.
  VerdictCache cache;
  ProbeTally tally(setup, stop_at_first, out);
  Status walked;  // why a walk failed
  auto explore = [&](const RecordingVisit& v) {
    for (size_t mi = 0; mi < s.models.size() && !tally.stopped(); ++mi) {
      WalkRequest req;
      req.recording = v.recording;
      req.options = {s.models[mi], s.strategy, s.seed, s.max_states, s.random_states};
      req.scratch_dir = work_dir + "/" + SafeFileName(v.id_prefix) + SafeFileName(s.models[mi]);
      req.id_prefix = v.id_prefix;
      req.cause_prefix = v.cause_prefix;
      req.skip_through_seq = v.skip_through_seq;
      WalkTotals totals;
      auto visit = [&](const CheckedState& c) { return tally.Add(mi, v.cause_prefix, c); };
      walked = Walk(ctx, req, &cache, visit, &totals);
      if (!walked.ok()) return false;
      WaitIfInterrupted();
    }
    return !tally.stopped();
  };
  BaselineFailure baseline;
  Status st = ForEachRecording(ctx, work_dir, false, &out->notes, explore, &baseline);
  if (st.ok()) st = walked;
  if (setup.fork_check != nullptr && !setup.fork_check->Note().empty()) {
    out->notes.push_back(setup.fork_check->Note());
  }
  if (baseline.failed()) st = Status::Error(DescribeBaselineFailure(baseline, ""));
  if (!st.ok()) return st;
  // Models never reached (stopped at the first violation) are not listed.
  while (!out->models.empty() && out->models.back().states == 0 && tally.stopped()) {
    out->models.pop_back();
  }
  return Status::Ok();
}

}  // namespace aftershock
