// `aftershock replay REPORT --state ID --into DIR`: materialize one crash
// state of a finished run for a person, and print the commands that
// reproduce its verdict.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/command.h"
#include "harness/command_env.h"
#include "harness/mail_facts.h"
#include "harness/message.h"
#include "harness/model_adapter.h"
#include "harness/recorder.h"
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

// A fresh directory under $TMPDIR (or /tmp), removed with what is in it
// when this goes out of scope: only this process ever wrote there.
class TempDir {
 public:
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  bool Create(std::string* error) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/aftershock-replay-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      *error = pattern + ": " + std::strerror(errno);
      return false;
    }
    path_ = pattern;
    return true;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

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
  RecordedRun run;
  // An interleaving's state ("b3:p41"): its recording was not kept, so the
  // interleaving is recorded again (in a directory of our own, removed at
  // the end) and the state looked up in it.
  Interleaving interleaving;
  std::string state_id = o.state;
  TempDir temp;
  Recording irec;
  if (ParseInterleavingId(sc, o.state, &interleaving, &state_id)) {
    if (manifest.daemon()) {
      std::fprintf(stderr, "aftershock: %s is a daemon-mode target: no beside steps\n",
                   manifest.file.c_str());
      return 2;
    }
    if (!temp.Create(&error) || !RecordWorkload(sc, manifest, tools, temp.path() + "/record", &irec,
                                                &error, &interleaving)) {
      std::fprintf(stderr, "aftershock: recording interleaving %s again: %s\n",
                   o.state.substr(0, o.state.find(':')).c_str(), error.c_str());
      return 2;
    }
    if (!irec.paused) {
      std::fprintf(stderr,
                   "aftershock: interleaving %s: the step ended before that call this time\n",
                   o.state.substr(0, o.state.find(':')).c_str());
      return 2;
    }
    run = irec.run;
  } else if (!LoadRecordedRun(rec_dir, &run, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  ExploreOptions options{model->model, model->strategy, report.seed, sc.max_states,
                         sc.random_states};
  auto source = OpenCrashStates(run, options, &error);
  if (!source) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  std::optional<CrashStateRef> state;
  while ((state = source->Next())) {
    if (state->id == state_id) break;
  }
  if (!state) {
    std::fprintf(stderr, "aftershock: state %s not found under %s\n", o.state.c_str(),
                 model->model.c_str());
    return 2;
  }
  std::error_code ec;
  if (fs::exists(o.into, ec) && !fs::is_empty(o.into, ec)) {
    std::fprintf(stderr, "aftershock: %s is not empty\n", o.into.c_str());
    return 2;
  }
  std::string into = fs::absolute(o.into).lexically_normal().string();
  if (!MaterializeCrashState(*state, into, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  MailFacts facts;
  if (!facts.Load(run.trace_path, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  CommandContext ctx;
  ctx.manifest = &manifest;
  ctx.scenario_env = &sc.env;
  ctx.tools = &tools;
  ctx.root = into;
  ctx.sink_log = into + ".sink.log";
  ctx.now = sc.clock_start + facts.TicksBefore(state->crash_seq);
  std::printf("# %s, model %s, state %s: %s\n", scenario->name.c_str(), model->model.c_str(),
              o.state.c_str(), state->description.c_str());
  if (irec.paused) std::printf("# interleaving (recorded again): %s\n", irec.beside_label.c_str());
  for (const auto& g : model->groups) {
    if (g.example_state == o.state) {
      std::printf("# verdict %s: %s\n", std::string(VerdictName(g.verdict)).c_str(),
                  g.example_detail.c_str());
    }
  }
  std::string acked;
  for (const auto& [id, rcpt] : facts.AckedBefore(state->crash_seq))
    acked += " " + id + "->" + rcpt;
  std::printf("# acknowledged before the crash:%s\n", acked.empty() ? " (none)" : acked.c_str());
  std::string sunk;
  for (const SinkMark& m : facts.SinkBefore(state->crash_seq)) {
    for (const auto& r : m.rcpts) sunk += " " + m.id + "->" + r;
  }
  std::printf("# handed to the sink before the crash (count as delivered):%s\n",
              sunk.empty() ? " (none)" : sunk.c_str());
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
  return 0;
}

void SetupReplay(CLI::App& app, int* exit_status) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Materialize one crash state of a finished run into DIR and print the commands that "
      "reproduce its verdict.");
  cmd->add_option("REPORT", o->report, "report.json of the run")->required();
  cmd->add_option("--state", o->state, "crash state id (from the report)")->required();
  cmd->add_option("--into", o->into, "directory to create (must be empty)")->required();
  cmd->add_option("--scenario", o->scenario, "scenario name, when the id is ambiguous");
  cmd->add_option("--model", o->model, "model, when the id is ambiguous");
  cmd->callback([o, exit_status] { *exit_status = Replay(*o); });
}

const bool kReplayRegistered = RegisterCommand({"replay", 4, SetupReplay});

}  // namespace
}  // namespace aftershock
