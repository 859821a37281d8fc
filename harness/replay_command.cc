// `aftershock replay REPORT --state ID --into DIR`: materialize one crash
// state of a finished run for a person, and print the commands that
// reproduce its verdict.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/command.h"
#include "harness/command_env.h"
#include "harness/mail_facts.h"
#include "harness/message.h"
#include "harness/model_adapter.h"
#include "harness/nested.h"
#include "harness/recorder.h"
#include "harness/recovery.h"
#include "harness/run_dir.h"
#include "harness/runner.h"
#include "harness/scenario.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

struct ReplayOptions {
  std::string report;
  std::string state;
  std::string into;
  std::string scenario;
  std::string model;
};

bool LoadRecordedRun(const std::string& dir, RecordedRun* run, std::string* error) {
  std::ifstream in(dir + "/recording.json");
  if (!in) {
    *error = dir + "/recording.json: missing (was the run's --out moved?)";
    return false;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    run->root = j.at("root").get<std::string>();
    run->final_seq = j.at("final_seq").get<uint64_t>();
    for (const auto& s : j.at("snapshots")) {
      run->snapshots.emplace_back(s.at("seq").get<uint64_t>(),
                                  dir + "/" + s.at("dir").get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    *error = dir + "/recording.json: " + e.what();
    return false;
  }
  run->trace_path = dir + "/trace.bin";
  run->initial_dir = dir + "/initial";
  run->final_snapshot = dir + "/snap/final";
  return true;
}

int Replay(const ReplayOptions& o) {
  std::ifstream in(o.report);
  if (!in) {
    std::fprintf(stderr, "aftershock: cannot read %s\n", o.report.c_str());
    return 2;
  }
  Report report;
  std::string error;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "aftershock: %s: %s\n", o.report.c_str(), e.what());
    return 2;
  }
  if (!ReportFromJson(j, &report, &error)) {
    std::fprintf(stderr, "aftershock: %s: %s\n", o.report.c_str(), error.c_str());
    return 2;
  }
  // Find the scenario and model: named, or the only ones whose groups show the state.
  const ScenarioResult* scenario = nullptr;
  const ModelResult* model = nullptr;
  for (const auto& s : report.scenarios) {
    if (!o.scenario.empty() && s.name != o.scenario) continue;
    for (const auto& m : s.models) {
      if (!o.model.empty() && m.model != o.model) continue;
      bool shown = !o.scenario.empty() && !o.model.empty();
      for (const auto& g : m.groups) shown |= g.example_state == o.state;
      if (!shown) continue;
      if (scenario) {
        std::fprintf(stderr,
                     "aftershock: state %s is in several scenarios or models; name "
                     "them with --scenario and --model\n",
                     o.state.c_str());
        return 2;
      }
      scenario = &s;
      model = &m;
    }
  }
  if (!scenario) {
    std::fprintf(stderr,
                 "aftershock: no scenario/model of %s shows state %s; name them with "
                 "--scenario and --model\n",
                 o.report.c_str(), o.state.c_str());
    return 2;
  }
  Scenario sc;
  bool builtin = false;
  for (const Scenario& b : BuiltinWorkloads(scenario->target_file)) {
    if (scenario->file == b.file && scenario->name == b.name) {
      sc = b;
      builtin = true;
    }
  }
  if (!builtin && !LoadScenario(scenario->file, &sc, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  // The environment the run used (the scenario's, or check's --env), when
  // the report has it: the file may have changed since, and a built-in
  // workload has no file.
  if (!scenario->env.empty()) sc.env = scenario->env;
  Manifest manifest;
  std::string target = scenario->target_file.empty() ? sc.target : scenario->target_file;
  if (!LoadManifest(target, &manifest, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  std::string rec_dir = fs::path(o.report).parent_path().string();
  if (rec_dir.empty()) rec_dir = ".";
  rec_dir += "/recordings/";
  for (char ch : scenario->name) {
    rec_dir += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ? ch : '_';
  }
  ToolPaths tools = FindToolPaths();
  std::unique_ptr<RunDir> run_dir;
  RecordedRun run;
  Recording recording;
  // An interleaving's state ("b3:p41", steps run beside each other): its
  // recording was not kept, so the interleaving is recorded again (in a run
  // directory of our own, removed at the end) and the state looked up in it.
  Interleaving interleaving;
  std::string local_id = o.state;
  bool interleaved = ParseInterleavingId(sc, o.state, &interleaving, &local_id);
  if (interleaved) {
    std::string name = o.state.substr(0, o.state.find(':'));
    if (manifest.daemon()) {
      std::fprintf(stderr, "aftershock: %s is a daemon-mode target: no beside steps\n",
                   manifest.file.c_str());
      return 2;
    }
    run_dir = RunDir::Create(&error);
    if (!run_dir || !RecordWorkload(sc, manifest, tools, run_dir->MakeDir("interleaving"),
                                    &recording, &error, &interleaving)) {
      std::fprintf(stderr, "aftershock: recording interleaving %s again: %s\n", name.c_str(),
                   error.c_str());
      return 2;
    }
    if (!recording.paused) {
      std::fprintf(stderr,
                   "aftershock: interleaving %s: the step ended before that call this time\n",
                   name.c_str());
      return 2;
    }
    run = recording.run;
  } else if (!LoadRecordedRun(rec_dir, &run, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  uint64_t seed = scenario->seed ? scenario->seed : report.seed;
  ExploreOptions options{model->model, model->strategy, seed, sc.max_states, sc.random_states};
  // A nested id "OUTER/INNER": a crash during the recovery of OUTER.
  size_t slash = local_id.find('/');
  std::string outer_id = local_id.substr(0, slash);
  auto source = OpenCrashStates(run, options, &error);
  if (!source) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  std::optional<CrashStateRef> state;
  while ((state = source->Next())) {
    if (state->id == outer_id) break;
  }
  if (!state) {
    std::fprintf(stderr, "aftershock: state %s not found under %s\n", outer_id.c_str(),
                 model->model.c_str());
    return 2;
  }
  std::error_code ec;
  if (fs::exists(o.into, ec) && !fs::is_empty(o.into, ec)) {
    std::fprintf(stderr, "aftershock: %s is not empty\n", o.into.c_str());
    return 2;
  }
  std::string into = fs::absolute(o.into).lexically_normal().string();
  if (!interleaved) {
    recording.run = run;
    recording.sink_log = rec_dir + "/sink.log";
    for (const Step& step : sc.steps) {
      if (step.kind == StepKind::kEnqueue) {
        recording.messages[step.id] = Submitted{step.id, step.rcpts, step.body_size};
      }
    }
  }
  RecoveryPlan plan;
  plan.scenario = &sc;
  plan.manifest = &manifest;
  plan.tools = &tools;
  plan.recording = &recording;
  MailFacts facts;
  if (!PreparePlan(&plan, &facts, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  uint64_t outer_crash_seq = state->crash_seq;
  CrashPoint point = PointOf(plan, outer_crash_seq);
  std::vector<std::string> during_recovery;  // "m1->alice@local" handed over before the inner crash
  std::unique_ptr<CrashStateSource> inner_source;  // keeps the inner state's payload alive
  if (slash != std::string::npos) {
    // Record the outer state's recovery exactly as the explorer did, then
    // find the inner state among the crash states of that recording.
    std::string inner_id = local_id.substr(slash + 1);
    if (!run_dir) run_dir = RunDir::Create(&error);
    if (!run_dir) {
      std::fprintf(stderr, "aftershock: %s\n", error.c_str());
      return 2;
    }
    std::string scratch = run_dir->MakeDir("replay");
    CheckInput outer_input;
    if (!RecoverState(plan, *state, point, scratch, &outer_input, &error,
                      RecoveryTracePath(scratch))) {
      std::fprintf(stderr, "aftershock: %s\n", error.c_str());
      return 2;
    }
    RecordedRecovery recovery;
    if (!LoadRecordedRecovery(manifest, scratch, &recovery)) {
      std::fprintf(stderr, "aftershock: the recovery of %s did not start: %s\n", outer_id.c_str(),
                   outer_input.recovery_failure.c_str());
      return 2;
    }
    if (!recovery.escape.empty()) {
      std::fprintf(stderr,
                   "aftershock: state %s not found: the recovery of %s wrote outside its root "
                   "(%s), so no crash during it is explored\n",
                   o.state.c_str(), outer_id.c_str(), recovery.escape.c_str());
      return 2;
    }
    inner_source = OpenCrashStates(recovery.run, options, &error);
    if (!inner_source) {
      std::fprintf(stderr, "aftershock: crash during recovery: %s\n", error.c_str());
      return 2;
    }
    std::optional<CrashStateRef> inner;
    while ((inner = inner_source->Next())) {
      if (inner->id == inner_id) break;
    }
    if (!inner) {
      std::fprintf(stderr,
                   "aftershock: state %s not found under %s (the recovery of %s has no "
                   "crash state %s)\n",
                   o.state.c_str(), model->model.c_str(), outer_id.c_str(), inner_id.c_str());
      return 2;
    }
    for (const SinkMark& m : recovery.facts.SinkBefore(inner->crash_seq)) {
      for (const auto& r : m.rcpts) during_recovery.push_back(m.id + "->" + r);
    }
    point = NestedPoint(point, recovery, *inner);
    state = NestedState(*state, *inner);
  }
  if (interleaved) state->id = o.state;
  if (!MaterializeCrashState(*state, into, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  CommandContext ctx;
  ctx.manifest = &manifest;
  ctx.scenario_env = &sc.env;
  ctx.tools = &tools;
  ctx.root = into;
  ctx.sink_log = into + ".sink.log";
  ctx.now = point.now;
  std::printf("# %s, model %s, state %s: %s\n", scenario->name.c_str(), model->model.c_str(),
              state->id.c_str(), state->description.c_str());
  if (interleaved) {
    std::printf("# interleaving (recorded again): %s\n", recording.beside_label.c_str());
  }
  int status = 0;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(state->hash));
  for (const auto& g : model->groups) {
    if (g.example_state != state->id) continue;
    std::printf("# verdict %s: %s\n", std::string(VerdictName(g.verdict)).c_str(),
                g.example_detail.c_str());
    if (g.example_hash != 0 && g.example_hash != state->hash) {
      std::fprintf(stderr,
                   "aftershock: warning: state %s has hash %s here but %016llx in the report: "
                   "this is not the state the run checked (did the target or its recovery "
                   "change, or is it not deterministic?)\n",
                   state->id.c_str(), hash, static_cast<unsigned long long>(g.example_hash));
      status = 1;
    } else if (g.example_hash != 0) {
      std::printf("# state hash %s, as in the report\n", hash);
    }
  }
  std::string acked;
  for (const auto& [id, rcpt] : point.acked) acked += " " + id + "->" + rcpt;
  std::printf("# acknowledged before the crash:%s\n", acked.empty() ? " (none)" : acked.c_str());
  std::string sunk;
  for (const SinkMark& m : facts.SinkBefore(outer_crash_seq)) {
    for (const auto& r : m.rcpts) sunk += " " + m.id + "->" + r;
  }
  std::printf("# handed to the sink before the crash (count as delivered):%s\n",
              sunk.empty() ? " (none)" : sunk.c_str());
  if (slash != std::string::npos) {
    std::string during;
    for (const auto& d : during_recovery) during += " " + d;
    std::printf("# handed to the sink during the crashed recovery (count as delivered):%s\n",
                during.empty() ? " (none)" : during.c_str());
  }
  std::printf("# materialized in %s; copies go to %s\n", into.c_str(), ctx.sink_log.c_str());
  std::printf("cd %s\n", ShellQuote(into).c_str());
  for (const auto& [k, v] : CommandEnvironment(ctx)) {
    if (k == "AFTERSHOCK_TRACE" || k == "AFTERSHOCK_ID" || k == "AFTERSHOCK_RCPTS") continue;
    std::printf("export %s=%s\n", k.c_str(), ShellQuote(v).c_str());
  }
  if (!manifest.recover.empty()) std::printf("%s\n", ExpandCommand(manifest.recover, ctx).c_str());
  if (!manifest.deliver.empty()) {
    std::printf("%s   # repeat until nothing new is delivered (at most %lld rounds)\n",
                ExpandCommand(manifest.deliver, ctx).c_str(),
                static_cast<long long>(manifest.drain_rounds));
  }
  return status;
}

void SetupReplay(CLI::App& app, int* exit_status) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Materialize one crash state of a finished run into DIR and print the commands that "
      "reproduce its verdict.");
  cmd->add_option("REPORT", o->report, "report.json of the run")->required()->check(InputFileValidator());
  cmd->add_option("--state", o->state, "crash state id (from the report)")->required();
  cmd->add_option("--into", o->into, "directory to create (must be empty)")
      ->required()
      ->check(OutputDirValidator());
  cmd->add_option("--scenario", o->scenario, "scenario name, when the id is ambiguous");
  cmd->add_option("--model", o->model, "model, when the id is ambiguous");
  cmd->callback([o, exit_status] { *exit_status = Replay(*o); });
}

const bool kReplayRegistered = RegisterCommand({"replay", 4, SetupReplay});

}  // namespace
}  // namespace aftershock
