// `aftershock replay REPORT --state ID --into DIR`: materialize one crash
// state of a finished run for a person, and print the commands that
// reproduce its verdict.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "harness/cli/command.h"
#include "harness/explore/builtin_workloads.h"
#include "harness/explore/pipeline.h"
#include "harness/target/command_env.h"
#include "harness/target/message.h"
#include "harness/target/run_dir.h"
#include "harness/cli/sandbox_options.h"
#include "injector/sandbox.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;

struct ReplayOptions {
  std::string report;
  std::string state;
  std::string into;
  SandboxFlags sandbox;
  std::string scenario;
  std::string model;
};

Status LoadRecordedRun(const std::string& dir, RecordedRun* run) {
  std::ifstream in(dir + "/recording.json");
  if (!in) return Status::Error(dir + "/recording.json: missing (was the run's --out moved?)");
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    run->root = j.at("root").get<std::string>();
    run->final_seq = j.at("final_seq").get<uint64_t>();
    for (const auto& s : j.at("snapshots")) {
      run->snapshots.emplace_back(s.at("seq").get<uint64_t>(),
                                  dir + "/" + s.at("dir").get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Error(dir + "/recording.json: " + e.what());
  }
  run->trace_path = dir + "/trace.bin";
  run->initial_dir = dir + "/initial";
  run->final_snapshot = dir + "/snap/final";
  return Status::Ok();
}

// Everything replay reads from a finished run.
struct ReplayInput {
  Report report;
  const ScenarioResult* scenario = nullptr;
  const ModelResult* model = nullptr;
  Scenario sc;
  Manifest manifest;
  std::string rec_dir;  // the run's recordings/<scenario>
};

Status LoadReport(const std::string& path, Report* report) {
  std::ifstream in(path);
  if (!in) return Status::Error("aftershock: cannot read " + path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return Status::Error("aftershock: " + path + ": " + e.what());
  }
  if (Status st = ReportFromJson(j, report); !st.ok()) {
    return Status::Error("aftershock: " + path + ": " + st.message());
  }
  return Status::Ok();
}

// The scenario and model: named, or the only ones whose groups show the state.
Status FindScenarioModel(const ReplayOptions& o, ReplayInput* in) {
  for (const auto& s : in->report.scenarios) {
    if (!o.scenario.empty() && s.name != o.scenario) continue;
    for (const auto& m : s.models) {
      if (!o.model.empty() && m.model != o.model) continue;
      bool shown = !o.scenario.empty() && !o.model.empty();
      for (const auto& g : m.groups) shown |= g.example_state == o.state;
      if (!shown) continue;
      if (in->scenario) {
        return Status::Error("aftershock: state " + o.state +
                             " is in several scenarios or models; name them with --scenario and "
                             "--model");
      }
      in->scenario = &s;
      in->model = &m;
    }
  }
  if (!in->scenario) {
    return Status::Error("aftershock: no scenario/model of " + o.report + " shows state " +
                         o.state + "; name them with --scenario and --model");
  }
  return Status::Ok();
}

// The scenario as the run ran it, and its manifest.
Status LoadScenarioOf(const ReplayOptions& o, ReplayInput* in) {
  const ScenarioResult& r = *in->scenario;
  bool builtin = false;
  for (const Scenario& b : BuiltinWorkloads(r.target_file)) {
    if (r.file == b.file && r.name == b.name) {
      in->sc = b;
      builtin = true;
    }
  }
  if (!builtin) {
    if (Status st = LoadScenario(r.file, &in->sc); !st.ok()) return st;
  }
  // The environment the run used (the scenario's, or check's --env), when
  // the report has it: the file may have changed since, and a built-in
  // workload has no file.
  if (!r.env.empty()) in->sc.env = r.env;
  std::string target = r.target_file.empty() ? in->sc.target : r.target_file;
  if (Status st = LoadManifest(target, &in->manifest); !st.ok()) return st;
  std::string dir = fs::path(o.report).parent_path().string();
  in->rec_dir = (dir.empty() ? "." : dir) + "/recordings/" + SafeFileName(r.name);
  return Status::Ok();
}

// The recording the state belongs to: the run's own, or an interleaving
// recorded again (its recording was not kept) in a run directory of ours.
Status ObtainRecording(const ReplayInput& in, const PipelineContext& ctx, const Interleaving* il,
                       RunDir* run_dir, std::unique_ptr<PlannedRecording>* out) {
  if (il) {
    const std::string name = "interleaving";
    if (Status st = RecordPlanned(ctx, run_dir->MakeDir(name), il, out); !st.ok()) {
      return Status::Error("recording the interleaving again: " + st.message());
    }
    if (!(*out)->rec.paused) {
      out->reset();
      return Status::Error("the interleaving's step ended before that call this time");
    }
    return Status::Ok();
  }
  Recording rec;
  if (Status st = LoadRecordedRun(in.rec_dir, &rec.run); !st.ok()) return st;
  rec.sink_log = in.rec_dir + "/sink.log";
  for (const Step& step : in.sc.steps) {
    if (step.kind == StepKind::kEnqueue) {
      rec.messages[step.id] = Submitted{step.id, step.rcpts, step.body_size};
    }
  }
  return PlanRecorded(ctx, std::move(rec), out);
}

// Compares the state's hash with the report's. Returns 1 when they differ.
int PrintVerdicts(const ModelResult& model, const CrashStateRef& state) {
  int status = 0;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(state.hash));
  for (const auto& g : model.groups) {
    if (g.example_state != state.id) continue;
    std::printf("# verdict %s: %s\n", std::string(VerdictName(g.verdict)).c_str(),
                g.example_detail.c_str());
    if (g.example_hash != 0 && g.example_hash != state.hash) {
      std::fprintf(stderr,
                   "aftershock: warning: state %s has hash %s here but %016llx in the report: "
                   "this is not the state the run checked (did the target or its recovery "
                   "change, or is it not deterministic?)\n",
                   state.id.c_str(), hash, static_cast<unsigned long long>(g.example_hash));
      status = 1;
    } else if (g.example_hash != 0) {
      std::printf("# state hash %s, as in the report\n", hash);
    }
  }
  return status;
}

std::string PairList(const std::vector<std::string>& pairs) {
  std::string out;
  for (const auto& p : pairs) out += " " + p;
  return out.empty() ? " (none)" : out;
}

// What held at the crash, and the commands that reproduce the verdict.
void PrintCommands(const ReplayInput& in, const PlannedRecording& rec, const FoundState& found,
                   const CommandContext& ctx) {
  std::vector<std::string> acked, sunk;
  for (const auto& [id, rcpt] : found.point.acked) acked.push_back(id + "->" + rcpt);
  for (const SinkMark& m : rec.facts.SinkBefore(found.outer_crash_seq)) {
    for (const auto& r : m.rcpts) sunk.push_back(m.id + "->" + r);
  }
  std::printf("# acknowledged before the crash:%s\n", PairList(acked).c_str());
  std::printf("# handed to the sink before the crash (count as delivered):%s\n",
              PairList(sunk).c_str());
  if (found.nested) {
    std::printf("# handed to the sink during the crashed recovery (count as delivered):%s\n",
                PairList(found.during_recovery).c_str());
  }
  std::printf("# materialized in %s; copies go to %s\n", ctx.root.c_str(), ctx.sink_log.c_str());
  std::printf("cd %s\n", ShellQuote(ctx.root).c_str());
  for (const auto& [k, v] : CommandEnvironment(ctx)) {
    if (k == "AFTERSHOCK_TRACE" || k == "AFTERSHOCK_ID" || k == "AFTERSHOCK_RCPTS") continue;
    std::printf("export %s=%s\n", k.c_str(), ShellQuote(v).c_str());
  }
  const Manifest& m = in.manifest;
  if (!m.recover.empty()) std::printf("%s\n", ExpandCommand(m.recover, ctx).c_str());
  if (!m.deliver.empty()) {
    std::printf("%s   # repeat until nothing new is delivered (at most %lld rounds)\n",
                ExpandCommand(m.deliver, ctx).c_str(), static_cast<long long>(m.drain_rounds));
  }
}

// Loads the run and finds the state.
Status Locate(const ReplayOptions& o, ReplayInput* in) {
  Status st = LoadReport(o.report, &in->report);
  if (st.ok()) st = FindScenarioModel(o, in);
  if (st.ok()) st = LoadScenarioOf(o, in);
  if (!st.ok()) return st;
  if (fs::exists(o.into) && !fs::is_empty(o.into)) {
    return Status::Error("aftershock: " + o.into + " is not empty");
  }
  return Status::Ok();
}

int Replay(const ReplayOptions& o) {
  ReplayInput in;
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "%s\n", message.c_str());
    return 2;
  };
  if (Status st = Locate(o, &in); !st.ok()) return fail(st.message());
  Interleaving interleaving;
  std::string local_id = o.state;
  bool interleaved = ParseInterleavingId(in.sc, o.state, &interleaving, &local_id);
  if (interleaved && in.manifest.daemon()) {
    return fail("aftershock: " + in.manifest.file + " is a daemon-mode target: no beside steps");
  }
  ToolPaths tools = FindToolPaths();
  std::unique_ptr<RunDir> run_dir;
  if (Status st = RunDir::Create(&run_dir); !st.ok()) return fail("aftershock: " + st.message());
  std::vector<std::string> sandbox_notes;
  std::string sandbox = run_dir->ConfineTargets(ToConfinement(o.sandbox), &sandbox_notes);
  if (!SandboxActive()) std::fprintf(stderr, "aftershock: warning: target commands %s\n", sandbox.c_str());
  PipelineContext ctx{&in.sc, &in.manifest, &tools, run_dir->path(), 1, SilentObserver()};
  std::unique_ptr<PlannedRecording> rec;
  Status st = ObtainRecording(in, ctx, interleaved ? &interleaving : nullptr, run_dir.get(), &rec);
  if (!st.ok()) return fail("aftershock: " + st.message());
  uint64_t seed = in.scenario->seed ? in.scenario->seed : in.report.seed;
  ExploreOptions options{in.model->model, in.model->strategy, seed, in.sc.max_states,
                         in.sc.random_states};
  FoundState found;
  st = FindState(ctx, *rec, options, local_id, run_dir->MakeDir("replay"), &found);
  if (!st.ok()) {
    return fail("aftershock: state " + o.state + " not found under " + in.model->model + ": " +
                st.message());
  }
  if (interleaved) found.state.id = o.state;
  std::string into = fs::absolute(o.into).lexically_normal().string();
  st = MaterializeCrashState(found.state, into);
  if (!st.ok()) return fail("aftershock: " + st.message());
  CommandContext cc;
  cc.manifest = &in.manifest;
  cc.scenario_env = &in.sc.env;
  cc.tools = &tools;
  cc.root = into;
  cc.sink_log = into + ".sink.log";
  cc.now = found.point.now;
  std::printf("# %s, model %s, state %s: %s\n", in.scenario->name.c_str(), in.model->model.c_str(),
              found.state.id.c_str(), found.state.description.c_str());
  if (interleaved) {
    std::printf("# interleaving (recorded again): %s\n", rec->rec.beside_label.c_str());
  }
  int status = PrintVerdicts(*in.model, found.state);
  PrintCommands(in, *rec, found, cc);
  return status;
}

void SetupReplay(CLI::App& app, int* exit_status) {
  auto o = std::make_shared<ReplayOptions>();
  CLI::App* cmd = app.add_subcommand(
      "replay",
      "Materialize one crash state of a finished run into DIR and print the commands that "
      "reproduce its verdict.");
  cmd->add_option("REPORT", o->report, "report.json of the run")
      ->required()
      ->check(InputFileValidator());
  cmd->add_option("--state", o->state, "crash state id (from the report)")->required();
  cmd->add_option("--into", o->into, "directory to create (must be empty)")
      ->required()
      ->check(OutputDirValidator());
  cmd->add_option("--scenario", o->scenario, "scenario name, when the id is ambiguous");
  cmd->add_option("--model", o->model, "model, when the id is ambiguous");
  AddSandboxOptions(cmd, &o->sandbox);
  cmd->callback([o, exit_status] { *exit_status = Replay(*o); });
}

const bool kReplayRegistered = RegisterCommand({"replay", 4, SetupReplay});

}  // namespace
}  // namespace aftershock
