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
bool SaveRecording(const Recording& rec, const std::string& dir, std::string* error) {
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
  if (!CopyTree(rec.run.initial_dir, dir + "/initial", error)) return false;
  nlohmann::json snaps = nlohmann::json::array();
  for (size_t i = 0; i < rec.run.snapshots.size(); ++i) {
    std::string rel = "snap/" + std::to_string(i);
    if (!CopyTree(rec.run.snapshots[i].second, dir + "/" + rel, error)) return false;
    snaps.push_back({{"seq", rec.run.snapshots[i].first}, {"dir", rel}});
  }
  if (!rec.run.final_snapshot.empty() && fs::exists(rec.run.final_snapshot) &&
      !CopyTree(rec.run.final_snapshot, dir + "/snap/final", error)) {
    return false;
  }
  nlohmann::json j = {
      {"root", rec.run.root}, {"final_seq", rec.run.final_seq}, {"snapshots", snaps}};
  return WriteFileAtomically(dir + "/recording.json", j.dump(2) + "\n", error);
}

}  // namespace

bool LoadScenarios(const std::vector<std::string>& paths, const RunOptions& options,
                   std::vector<Scenario>* out, std::string* error) {
  for (const auto& p : paths) {
    Scenario s;
    if (!LoadScenario(p, &s, error)) return false;
    if (!options.target.empty()) {
      s.target = AbsolutePath(options.target, fs::current_path());
      s.target_where.clear();
    }
    ApplyOverrides(options, &s);
    out->push_back(std::move(s));
  }
  return true;
}

void ApplyOverrides(const RunOptions& options, Scenario* s) {
  if (!options.models.empty()) s->models = options.models;
  if (!options.strategy.empty()) s->strategy = options.strategy;
  if (options.seed) s->seed = *options.seed;
  if (options.nested >= 0) s->nested = options.nested;
}

namespace {

// Every manifest, validated before anything runs. Returns false with *error.
bool LoadManifests(const std::vector<Scenario>& scenarios, std::vector<Manifest>* manifests,
                   std::string* error) {
  manifests->resize(scenarios.size());
  for (size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    // Not std::filesystem::exists: it throws on a loop or a name too long.
    if (std::string bad = InputFileError(s.target); !bad.empty()) {
      *error = (s.target_where.empty() ? "--target" : s.target_where) + ": target manifest: " + bad;
      return false;
    }
    if (!LoadManifest(s.target, &(*manifests)[i], error)) return false;
    for (const Step& step : s.steps) {
      if (step.beside && (*manifests)[i].daemon()) {
        // A daemon serves one request at a time: nothing can run beside it.
        *error = step.beside->where + ": a beside step needs a target whose steps are commands; " +
                 (*manifests)[i].file + " is a daemon-mode target";
        return false;
      }
    }
  }
  return true;
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
    std::string ignored;
    WriteFileAtomically(dir + "/" + n + SafeFileName(commands[i].what) + ".log", commands[i].output,
                        &ignored);
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

  // *error is set unless kDone.
  Ending Run(std::string* error);

 private:
  // Where the commands' output goes, under `out` (the staged or the final --out).
  std::string LogDir(const std::string& out) const {
    return out + "/logs/" + SafeFileName(ctx_.scenario->name);
  }
  bool Visit(const RecordingVisit& v, std::string* error);
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

bool ScenarioRun::Visit(const RecordingVisit& v, std::string* error) {
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
    if (!SaveRecording(v.recording->rec, out_dir_ + "/recordings/" + SafeFileName(s.name), error)) {
      return false;
    }
    results_.resize(s.models.size());
  }
  for (size_t k = 0; k < s.models.size(); ++k) {
    ModelResult mr;
    if (!Explore(ctx_, Request(v, s.models[k]), &cache_, &mr, error)) {
      *error = s.name + " under " + s.models[k] + ": " + *error;
      return false;
    }
    if (v.sequential) {
      results_[k] = std::move(mr);
    } else {
      MergeModelResult(mr, &results_[k]);
    }
  }
  return true;
}

Ending ScenarioRun::Run(std::string* error) {
  const Scenario& s = *ctx_.scenario;
  auto visit = [this, error](const RecordingVisit& v) { return Visit(v, error); };
  BaselineFailure baseline;
  bool ok = ForEachRecording(ctx_, work_, options_.keep_states, &sr_->workload_notes, visit,
                             &baseline, error);
  ctx_.observer->Notes(s.name, sr_->workload_notes);
  if (baseline.failed()) {
    std::error_code ec;
    fs::create_directories(LogDir(out_dir_), ec);
    std::string ignored;
    WriteFileAtomically(LogDir(out_dir_) + "/baseline.log", baseline.output, &ignored);
    sr_->error = DescribeBaselineFailure(baseline, LogDir(options_.out_dir) + "/baseline.log");
    *error = s.name + ": " + sr_->error;
    return Ending::kBaseline;
  }
  if (!ok) {
    if (reached_) return Ending::kFatal;
    sr_->error = *error;
    *error = s.file + ": " + *error;
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
  std::vector<Manifest> manifests;
  std::string error;
  if (!LoadManifests(scenarios, &manifests, &error)) return Failed(error);
  std::unique_ptr<RunDir> run = RunDir::Create(&error);
  if (!run) return Failed("aftershock: " + error);
  // The run writes into a fresh directory, swapped in as --out at the end.
  StagedOut staged;
  std::string out_dir = options.out_dir;
  if (options.replace_out) {
    if (!staged.Begin(options.out_dir, &error)) return Failed("aftershock: --out " + error);
    out_dir = staged.path();
  }
  if (options.keep_states) run->Keep();
  observer->RunStarted(scenarios.size(), report->seed, options.jobs,
                       options.keep_states ? run->path() : "");
  ToolPaths tools = FindToolPaths();
  std::string report_path =
      fs::absolute(options.out_dir).lexically_normal().string() + "/report.json";
  RunOutcome outcome;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    PipelineContext ctx{&scenarios[i], &manifests[i], &tools, run->path(), options.jobs, observer};
    ScenarioResult sr = ResultHeader(scenarios[i], manifests[i]);
    std::string work = run->MakeDir(SafeFileName(scenarios[i].name) + "-" + std::to_string(i));
    Ending ending = ScenarioRun(ctx, options, out_dir, work, report_path, &sr).Run(&error);
    if (ending == Ending::kFatal) return Failed("aftershock: " + error);
    if (ending != Ending::kDone) {
      WaitIfInterrupted();
      outcome.errors.push_back("aftershock: " + error);
    }
    report->scenarios.push_back(std::move(sr));
    if (!options.keep_states) RemoveTreeInside(run->path(), work);
    // A broken target breaks every scenario the same way: one is enough.
    if (ending == Ending::kBaseline) break;
  }
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WaitIfInterrupted();
  if (!WriteReports(*report, out_dir, &error) || (options.replace_out && !staged.Commit(&error))) {
    return Failed("aftershock: " + error);
  }
  outcome.reports_written = true;
  int exit_status = ExitStatus(*report);
  outcome.status = !outcome.errors.empty()         ? RunStatus::kInputError
                   : exit_status == 0              ? RunStatus::kHeld
                   : exit_status == kExitNotProven ? RunStatus::kNotProven
                                                   : RunStatus::kViolation;
  return outcome;
}

}  // namespace aftershock
