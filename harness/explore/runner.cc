#include "harness/explore/runner.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "harness/explore/baseline.h"
#include "harness/explore/explorer.h"
#include "harness/explore/pipeline.h"
#include "harness/explore/staged_out.h"
#include "harness/target/path_check.h"
#include "harness/target/run_dir.h"
#include "injector/launch.h"
#include "injector/sandbox.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

namespace {

// Keeps what replay needs beside the report: the trace, the initial state
// and (for the stand-in model) the snapshots.
Status SaveRecording(const Recording& rec, const std::string& dir) {
  // Files of an earlier run are overwritten, never removed: nothing outside
  // the run directory is ever deleted.
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (const char* name : {"trace.bin", "sink.log"}) {
    if (fs::exists(rec.work_dir + "/" + name)) {
      fs::copy_file(rec.work_dir + "/" + name, dir + "/" + name,
                    fs::copy_options::overwrite_existing, ec);
    }
  }
  if (Status st = CopyTree(rec.run.initial_dir, dir + "/initial"); !st.ok()) return st;
  nlohmann::json snaps = nlohmann::json::array();
  for (size_t i = 0; i < rec.run.snapshots.size(); ++i) {
    std::string rel = "snap/" + std::to_string(i);
    if (Status st = CopyTree(rec.run.snapshots[i].second, dir + "/" + rel); !st.ok()) return st;
    snaps.push_back({{"seq", rec.run.snapshots[i].first}, {"dir", rel}});
  }
  if (!rec.run.final_snapshot.empty() && fs::exists(rec.run.final_snapshot)) {
    if (Status st = CopyTree(rec.run.final_snapshot, dir + "/snap/final"); !st.ok()) return st;
  }
  nlohmann::json j = {
      {"root", rec.run.root}, {"final_seq", rec.run.final_seq}, {"snapshots", snaps}};
  return WriteFileAtomically(dir + "/recording.json", j.dump(2) + "\n");
}

}  // namespace

Status LoadScenarios(const std::vector<std::string>& paths, const RunOptions& options,
                     std::vector<Scenario>* out) {
  for (const auto& p : paths) {
    Scenario s;
    if (Status st = LoadScenario(p, &s); !st.ok()) return st;
    if (!options.target.empty()) {
      s.target = AbsolutePath(options.target, fs::current_path());
      s.target_where.clear();
    }
    ApplyOverrides(options, &s);
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

void ApplyOverrides(const RunOptions& options, Scenario* s) {
  if (!options.models.empty()) s->models = options.models;
  if (!options.strategy.empty()) s->strategy = options.strategy;
  if (options.seed) s->seed = *options.seed;
  if (options.nested >= 0) s->nested = options.nested;
}

namespace {

// Every manifest, validated before anything runs.
Status LoadManifests(const std::vector<Scenario>& scenarios, std::vector<Manifest>* manifests) {
  manifests->resize(scenarios.size());
  for (size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    // Not std::filesystem::exists: it throws on a loop or a name too long.
    if (std::string bad = InputFileError(s.target); !bad.empty()) {
      return Status::Error((s.target_where.empty() ? "--target" : s.target_where) +
                           ": target manifest: " + bad);
    }
    if (Status st = LoadManifest(s.target, &(*manifests)[i]); !st.ok()) return st;
    for (const Step& step : s.steps) {
      if (step.beside && (*manifests)[i].daemon()) {
        // A daemon serves one request at a time: nothing can run beside it.
        return Status::Error(step.beside->where +
                             ": a beside step needs a target whose steps are commands; " +
                             (*manifests)[i].file + " is a daemon-mode target");
      }
    }
  }
  return Status::Ok();
}

// How a scenario's run ended.
enum class Ending {
  kDone,
  kScenarioError,  // its workload could not be recorded: sr.error says why; the run goes on
  kBaseline,       // the baseline failed: sr.error says why; the run stops, reports written
  kFatal,          // the harness failed: the run stops
};

// Keeps the output of every command of the workload under `dir`
// (OUT/logs/SCENARIO/), one file each: "01-step-1-enqueue-m1.log".
void WriteCommandLogs(const std::vector<CommandRun>& commands, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  for (size_t i = 0; i < commands.size(); ++i) {
    char n[32];
    std::snprintf(n, sizeof n, "%02zu-", i + 1);
    // A log that cannot be written is only a log missing.
    (void)WriteFileAtomically(dir + "/" + n + SafeFileName(commands[i].what) + ".log",
                              commands[i].output);
  }
}

// Runs one scenario: every recording (sequential, then interleavings) under
// every model, judged.
class ScenarioRun {
 public:
  // Writes under `out_dir` (the staged output); messages name options.out_dir.
  ScenarioRun(const PipelineContext& ctx, const RunOptions& options, const std::string& out_dir,
              const std::string& work, const std::string& report_path, ScenarioResult* sr)
      : ctx_(ctx),
        options_(options),
        out_dir_(out_dir),
        work_(work),
        report_path_(report_path),
        sr_(sr) {}

  // *why says what went wrong unless kDone.
  Ending Run(Status* why);

 private:
  // Where the commands' output goes, under `out` (the staged or the final --out).
  std::string LogDir(const std::string& out) const {
    return out + "/logs/" + SafeFileName(ctx_.scenario->name);
  }
  Status Visit(const RecordingVisit& v);
  // Writes each group's example output under OUT/logs/SCENARIO/ and names
  // the file in the group (ViolationGroup::example_log).
  void KeepExampleLogs(const std::string& prefix, ModelResult* mr) const;
  ExploreRequest Request(const RecordingVisit& v, const std::string& model) const;

  const PipelineContext& ctx_;
  const RunOptions& options_;
  const std::string& out_dir_;
  const std::string& work_;
  const std::string& report_path_;
  ScenarioResult* sr_;
  VerdictCache cache_;
  std::vector<ModelResult> results_;
  std::vector<std::string> unproven_;
  bool reached_ = false;  // the sequential recording succeeded
};

ExploreRequest ScenarioRun::Request(const RecordingVisit& v, const std::string& model) const {
  const Scenario& s = *ctx_.scenario;
  ExploreRequest req;
  WalkRequest& w = req.walk;
  w.recording = v.recording;
  w.options = {model, s.strategy, s.seed, s.max_states, s.random_states};
  w.scratch_dir = work_ + "/" + SafeFileName(v.id_prefix) + SafeFileName(model);
  w.keep_states = options_.keep_states;
  w.nested = static_cast<int>(s.nested);
  w.id_prefix = v.id_prefix;
  w.cause_prefix = v.cause_prefix;
  w.skip_through_seq = v.skip_through_seq;
  req.reproduce_prefix =
      "aftershock replay " + report_path_ + " --scenario " + s.name + " --model " + model;
  return req;
}

Status ScenarioRun::Visit(const RecordingVisit& v) {
  const Scenario& s = *ctx_.scenario;
  const std::string lead = v.id_prefix.empty() ? "" : v.id_prefix + " ";
  for (const std::string& u : v.recording->unproven) {
    unproven_.push_back(lead + u);
    const std::string kFidelity = "fidelity: ";
    if (u.rfind(kFidelity, 0) != 0) continue;
    sr_->workload_notes.push_back(lead + u.substr(kFidelity.size()));
    if (v.sequential) ctx_.observer->Warning(s.name, u.substr(kFidelity.size()));
  }
  if (v.sequential) {
    reached_ = true;
    WriteCommandLogs(v.recording->rec.commands, LogDir(out_dir_));
    Status st = SaveRecording(v.recording->rec, out_dir_ + "/recordings/" + SafeFileName(s.name));
    if (!st.ok()) return st;
    results_.resize(s.models.size());
  }
  for (size_t k = 0; k < s.models.size(); ++k) {
    ModelResult mr;
    if (Status st = Explore(ctx_, Request(v, s.models[k]), &cache_, &mr); !st.ok()) {
      return Status::Error(s.name + " under " + s.models[k] + ": " + st.message());
    }
    KeepExampleLogs(v.id_prefix + s.models[k], &mr);
    if (v.sequential) {
      results_[k] = std::move(mr);
    } else {
      MergeModelResult(mr, &results_[k]);
    }
  }
  return Status::Ok();
}

void ScenarioRun::KeepExampleLogs(const std::string& prefix, ModelResult* mr) const {
  const std::string rel = "logs/" + SafeFileName(ctx_.scenario->name);
  std::error_code ec;
  for (ViolationGroup& g : mr->groups) {
    if (g.example_output.empty()) continue;
    std::string name = SafeFileName(prefix + "-" + g.example_state) + ".log";
    fs::create_directories(out_dir_ + "/" + rel, ec);
    // A log that cannot be written is only a log missing.
    if (WriteFileAtomically(out_dir_ + "/" + rel + "/" + name, g.example_output).ok()) {
      g.example_log = rel + "/" + name;
    }
    g.example_output.clear();
  }
}

Ending ScenarioRun::Run(Status* why) {
  const Scenario& s = *ctx_.scenario;
  Status visited;  // why a visit stopped the recordings
  auto visit = [this, &visited](const RecordingVisit& v) {
    visited = Visit(v);
    return visited.ok();
  };
  BaselineFailure baseline;
  Status st =
      ForEachRecording(ctx_, work_, options_.keep_states, &sr_->workload_notes, visit, &baseline);
  if (st.ok()) st = visited;
  if (ctx_.fork_check != nullptr && !ctx_.fork_check->Note().empty()) {
    sr_->workload_notes.push_back(ctx_.fork_check->Note());
  }
  ctx_.observer->Notes(s.name, sr_->workload_notes);
  if (baseline.failed()) {
    std::error_code ec;
    fs::create_directories(LogDir(out_dir_), ec);
    // The failure is reported either way; the log is a help.
    (void)WriteFileAtomically(LogDir(out_dir_) + "/baseline.log", baseline.output);
    sr_->error = DescribeBaselineFailure(baseline, LogDir(options_.out_dir) + "/baseline.log");
    *why = Status::Error(s.name + ": " + sr_->error);
    return Ending::kBaseline;
  }
  if (!st.ok()) {
    if (reached_) {
      *why = st;
      return Ending::kFatal;
    }
    sr_->error = st.message();
    *why = Status::Error(s.file + ": " + st.message());
    return Ending::kScenarioError;
  }
  for (size_t k = 0; k < s.models.size(); ++k) {
    ModelResult mr = std::move(results_[k]);
    mr.inconclusive_reasons.insert(mr.inconclusive_reasons.begin(), unproven_.begin(),
                                   unproven_.end());
    mr.inconclusive = !mr.inconclusive_reasons.empty();
    Judge(s, &mr);
    ctx_.observer->ModelJudged(s.name, mr);
    sr_->models.push_back(std::move(mr));
  }
  return Ending::kDone;
}

ScenarioResult ResultHeader(const Scenario& s, const Manifest& m) {
  ScenarioResult sr;
  sr.name = s.name;
  sr.file = s.file;
  sr.description = s.description;
  sr.target = m.name;
  sr.target_file = m.file;
  sr.seed = s.seed;
  sr.env = s.env;
  sr.expect = s.expect;
  return sr;
}

RunOutcome Failed(std::string error) {
  WaitIfInterrupted();
  RunOutcome o;
  o.status = RunStatus::kInputError;
  o.errors.push_back(std::move(error));
  return o;
}

}  // namespace

RunOutcome ExploreScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options,
                            RunObserver* observer, Report* report) {
  auto start = std::chrono::steady_clock::now();
  report->aftershock_version = AFTERSHOCK_VERSION;
  report->seed = options.seed.value_or(scenarios.empty() ? 1 : scenarios.front().seed);
  report->started_utc = NowUtc();
  report->command_line = options.command_line;
  report->shard = options.shard;
  std::vector<Manifest> manifests;
  if (Status st = LoadManifests(scenarios, &manifests); !st.ok()) return Failed(st.message());
  std::unique_ptr<RunDir> run;
  if (Status st = RunDir::Create(&run); !st.ok()) return Failed("aftershock: " + st.message());
  if (options.keep_states) run->Keep();
  std::vector<std::string> sandbox_notes;
  report->sandbox = run->ConfineTargets(options.sandbox, &sandbox_notes);
  if (!SandboxActive()) observer->Warning("target commands", report->sandbox);
  observer->Notes("sandbox", sandbox_notes);
  // The run writes into a fresh directory, swapped in as --out at the end.
  StagedOut staged;
  std::string out_dir = options.out_dir;
  if (options.replace_out) {
    Status st = staged.Begin(options.out_dir);
    if (!st.ok()) return Failed("aftershock: --out " + st.message());
    out_dir = staged.path();
  }
  observer->RunStarted(scenarios.size(), report->seed, options.jobs,
                       options.keep_states ? run->path() : "");
  ToolPaths tools = FindToolPaths();
  std::string report_path =
      fs::absolute(options.out_dir).lexically_normal().string() + "/report.json";
  RunOutcome outcome;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    PipelineContext ctx{&scenarios[i], &manifests[i], &tools, run->path(), options.jobs, observer};
    ctx.shard = options.shard;
    ForkServerCheck fork_check;
    ctx.fork_check = &fork_check;
    ScenarioResult sr = ResultHeader(scenarios[i], manifests[i]);
    std::string work = run->MakeDir(SafeFileName(scenarios[i].name) + "-" + std::to_string(i));
    Status why;
    Ending ending = ScenarioRun(ctx, options, out_dir, work, report_path, &sr).Run(&why);
    // Every command has ended: a process still running was left behind by one.
    if (int left = KillLeftovers(); left > 0) {
      std::string note = std::to_string(left) +
                         " process(es) the target's commands left running (setsid, "
                         "daemonized) were killed at the end of the scenario";
      sr.workload_notes.push_back(note);
      observer->Warning(scenarios[i].name, note);
    }
    if (ending == Ending::kFatal) return Failed("aftershock: " + why.message());
    if (ending != Ending::kDone) {
      WaitIfInterrupted();
      outcome.errors.push_back("aftershock: " + why.message());
    }
    report->scenarios.push_back(std::move(sr));
    if (!options.keep_states) RemoveTreeInside(run->path(), work);
    // A broken target breaks every scenario the same way: one is enough.
    if (ending == Ending::kBaseline) break;
  }
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WaitIfInterrupted();
  Status written = WriteReports(*report, out_dir);
  if (written.ok() && options.replace_out) written = staged.Commit();
  if (!written.ok()) return Failed("aftershock: " + written.message());
  outcome.reports_written = true;
  int exit_status = ExitStatus(*report);
  outcome.status = !outcome.errors.empty()         ? RunStatus::kInputError
                   : exit_status == 0              ? RunStatus::kHeld
                   : exit_status == kExitNotProven ? RunStatus::kNotProven
                                                   : RunStatus::kViolation;
  return outcome;
}

}  // namespace aftershock
