#include "harness/runner.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/explorer.h"
#include "harness/recorder.h"
#include "harness/run_dir.h"
#include "harness/trace_scan.h"
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

std::string Safe(const std::string& s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
  return out;
}

// Prints progress on a terminal; silent otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter(Progress* p, std::string label, bool enabled)
      : p_(p), label_(std::move(label)), enabled_(enabled) {
    if (enabled_) thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressPrinter() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  void Loop() {
    auto start = std::chrono::steady_clock::now();
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      int64_t done = p_->done.load();
      double rate = secs > 0 ? done / secs : 0;
      uint64_t seq = p_->seq_done.load(), total = p_->seq_total.load();
      std::string eta = "?";
      if (seq > 0 && total > seq) {
        eta = std::to_string(static_cast<int64_t>(secs * (total - seq) / seq)) + "s";
      }
      std::fprintf(stderr, "\r\033[K%s: %lld states, %lld violations, %.1f states/s, ETA %s",
                   label_.c_str(), static_cast<long long>(done),
                   static_cast<long long>(p_->violations.load()), rate, eta.c_str());
      std::fflush(stderr);
    }
  }
  Progress* p_;
  std::string label_;
  bool enabled_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::vector<Interleaving> Interleavings(const Scenario& s, const Recording& rec,
                                        std::vector<std::string>* notes) {
  std::vector<Interleaving> out;
  for (size_t i = 0; i < s.steps.size(); ++i) {
    if (!s.steps[i].beside) continue;
    const Beside& b = *s.steps[i].beside;
    auto it = rec.beside_hits.find(i);
    int64_t n = it == rec.beside_hits.end() ? 0 : static_cast<int64_t>(it->second);
    std::string where = "step " + std::to_string(i + 1) + " (" + s.steps[i].MarkData() + ")";
    std::vector<int64_t> hits;
    if (b.at.empty()) {
      for (int64_t k = 1; k <= n; ++k) hits.push_back(k);
    } else {
      for (int64_t k : b.at) {
        if (k <= n) {
          hits.push_back(k);
        } else {
          notes->push_back(where + " makes " + std::to_string(n) + " call(s) of " + b.point +
                           ": no hit " + std::to_string(k) + " to run its beside step at");
        }
      }
    }
    if (n == 0) {
      notes->push_back(where + " makes no call of " + b.point + ": nothing runs beside it");
    }
    size_t cap = static_cast<size_t>(s.max_interleavings);
    if (hits.size() > cap) {
      notes->push_back(where + ": " + std::to_string(cap) + " of " + std::to_string(hits.size()) +
                       " interleavings explored (max_interleavings), spread evenly");
      std::vector<int64_t> picked;
      for (size_t j = 0; j < cap; ++j) {
        size_t index = cap == 1 ? 0 : j * (hits.size() - 1) / (cap - 1);
        picked.push_back(hits[index]);
      }
      hits = picked;
    }
    for (int64_t k : hits) out.push_back({i, k});
  }
  return out;
}

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

int RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options,
                 Report* report) {
  auto start = std::chrono::steady_clock::now();
  report->aftershock_version = AFTERSHOCK_VERSION;
  report->seed = options.seed.value_or(scenarios.empty() ? 1 : scenarios.front().seed);
  report->started_utc = NowUtc();
  report->command_line = options.command_line;

  // Every manifest is validated before anything runs.
  std::vector<Manifest> manifests(scenarios.size());
  for (size_t i = 0; i < scenarios.size(); ++i) {
    std::string error;
    if (!std::filesystem::exists(scenarios[i].target)) {
      std::string where =
          scenarios[i].target_where.empty() ? "--target" : scenarios[i].target_where;
      std::fprintf(stderr, "%s: no target manifest %s\n", where.c_str(),
                   scenarios[i].target.c_str());
      return 2;
    }
    if (!LoadManifest(scenarios[i].target, &manifests[i], &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 2;
    }
    for (const Step& step : scenarios[i].steps) {
      if (step.beside && manifests[i].daemon()) {
        // A daemon serves one request at a time: nothing can run beside it.
        std::fprintf(stderr,
                     "%s: a beside step needs a target whose steps are commands; %s is a "
                     "daemon-mode target\n",
                     step.beside->where.c_str(), manifests[i].file.c_str());
        return 2;
      }
    }
  }
  std::string error;
  std::unique_ptr<RunDir> run = RunDir::Create(&error);
  if (!run) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  if (options.keep_states) {
    run->Keep();
    std::fprintf(stderr, "aftershock: keeping crash states in %s\n", run->path().c_str());
  }
  if (options.verbosity > 0) {
    std::fprintf(stderr, "aftershock %s: %zu scenario(s), seed %llu, %d job(s)%s\n",
                 AFTERSHOCK_VERSION, scenarios.size(),
                 static_cast<unsigned long long>(report->seed), options.jobs,
                 ModelAvailable() ? "" : " [model stand-in: step boundaries only]");
  }
  ToolPaths tools = FindToolPaths();
  bool input_error = false;
  bool tty = isatty(2) && options.verbosity > 0;
  std::string report_path =
      fs::absolute(options.out_dir).lexically_normal().string() + "/report.json";

  for (size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    const Manifest& m = manifests[i];
    ScenarioResult sr;
    sr.name = s.name;
    sr.file = s.file;
    sr.description = s.description;
    sr.target = m.name;
    sr.target_file = m.file;
    sr.seed = s.seed;
    sr.env = s.env;
    std::string work = run->MakeDir(Safe(s.name) + "-" + std::to_string(i));
    Recording rec;
    if (!RecordWorkload(s, m, tools, work + "/record", &rec, &error)) {
      WaitIfInterrupted();
      std::fprintf(stderr, "aftershock: %s: %s\n", s.file.c_str(), error.c_str());
      sr.error = error;
      report->scenarios.push_back(sr);
      input_error = true;
      continue;
    }
    sr.workload_notes = rec.notes;
    // The model must agree with what the run really left, or its crash
    // states are not the target's.
    std::string gap = CheckFidelity(rec.run);
    // A file the target rebuilds differs when its mapping was written (a
    // daemon killed before it removed its -shm): expected, not a gap.
    const std::string kGapPrefix = "recorder gap: ";
    if (gap.rfind(kGapPrefix, 0) == 0 &&
        IsRebuilt(m, gap.substr(kGapPrefix.size(),
                                gap.find(": ", kGapPrefix.size()) - kGapPrefix.size()))) {
      sr.workload_notes.push_back("ignored (rebuilt by the target): fidelity: " +
                                  gap.substr(kGapPrefix.size()));
      gap.clear();
    }
    // What the recorder missed makes every model's result unproven.
    std::vector<std::string> unproven;
    for (const auto& g : UnignoredGaps(rec.run.trace_path, m, rec.run.root)) {
      unproven.push_back("recorder gap: " + g);
    }
    if (!gap.empty()) unproven.push_back("fidelity: " + gap);
    if (!gap.empty()) {
      sr.workload_notes.push_back(gap);
      std::fprintf(stderr, "aftershock: %s: warning: %s\n", s.name.c_str(), gap.c_str());
    }
    if (options.verbosity > 1) {
      for (const auto& n : rec.notes) std::fprintf(stderr, "  %s: %s\n", s.name.c_str(), n.c_str());
    }
    if (!SaveRecording(rec, options.out_dir + "/recordings/" + Safe(s.name), &error)) {
      WaitIfInterrupted();
      std::fprintf(stderr, "aftershock: %s\n", error.c_str());
      return 2;
    }
    RecoveryPlan plan;
    plan.scenario = &s;
    plan.manifest = &m;
    plan.tools = &tools;
    plan.recording = &rec;
    MailFacts facts;
    if (!PreparePlan(&plan, &facts, &error)) {
      WaitIfInterrupted();
      std::fprintf(stderr, "aftershock: %s\n", error.c_str());
      return 2;
    }
    VerdictCache cache;
    std::vector<ModelResult> results(s.models.size());
    // Explores one recording (the sequential one, then each interleaving)
    // under every model, adding to results.
    auto explore_all = [&](const RecoveryPlan& p, const std::string& id_prefix,
                           const std::string& cause_prefix, uint64_t skip_through_seq, bool first) {
      for (size_t k = 0; k < s.models.size(); ++k) {
        const std::string& model = s.models[k];
        ExploreRequest req;
        req.plan = &p;
        req.options = {model, s.strategy, s.seed, s.max_states, s.random_states};
        req.jobs = options.jobs;
        req.scratch_dir = work + "/" + Safe(id_prefix) + Safe(model);
        req.run_dir = run->path();
        req.keep_states = options.keep_states;
        req.nested = static_cast<int>(s.nested);
        req.reproduce_prefix =
            "aftershock replay " + report_path + " --scenario " + s.name + " --model " + model;
        req.id_prefix = id_prefix;
        req.cause_prefix = cause_prefix;
        req.skip_through_seq = skip_through_seq;
        Progress progress;
        ModelResult mr;
        ProgressPrinter printer(&progress, s.name + " / " + model + (first ? "" : " " + id_prefix),
                                tty);
        if (!Explore(req, &cache, &progress, &mr, &error)) {
          WaitIfInterrupted();
          std::fprintf(stderr, "aftershock: %s under %s: %s\n", s.name.c_str(), model.c_str(),
                       error.c_str());
          return false;
        }
        if (first) {
          results[k] = std::move(mr);
        } else {
          MergeModelResult(mr, &results[k]);
        }
      }
      return true;
    };
    if (!explore_all(plan, "", "", 0, true)) return 2;
    // Every interleaving of each step with its beside step, explored as
    // the sequential recording is.
    std::vector<Interleaving> interleavings = Interleavings(s, rec, &sr.workload_notes);
    if (options.verbosity > 0 && !interleavings.empty()) {
      std::fprintf(stderr, "%-28s %zu interleaving(s) with beside steps\n", s.name.c_str(),
                   interleavings.size());
    }
    for (const Interleaving& il : interleavings) {
      std::string prefix = InterleavingPrefix(s, il);
      std::string dir = work + "/" + Safe(prefix);
      Recording irec;
      if (!RecordWorkload(s, m, tools, dir, &irec, &error, &il)) {
        WaitIfInterrupted();
        std::fprintf(stderr, "aftershock: %s: interleaving %s: %s\n", s.file.c_str(),
                     prefix.c_str(), error.c_str());
        return 2;
      }
      if (!irec.paused) {
        sr.workload_notes.push_back("interleaving " + prefix + " does not exist: step " +
                                    std::to_string(il.step + 1) + " ended before its hit " +
                                    std::to_string(il.hit));
      } else {
        for (const auto& n : irec.notes) sr.workload_notes.push_back(prefix + " " + n);
        std::string igap = CheckFidelity(irec.run);
        if (!igap.empty()) {
          sr.workload_notes.push_back(prefix + " " + igap);
          unproven.push_back(prefix + " fidelity: " + igap);
        }
        for (const auto& g : UnignoredGaps(irec.run.trace_path, m, irec.run.root)) {
          unproven.push_back(prefix + " recorder gap: " + g);
        }
        RecoveryPlan iplan = plan;
        iplan.recording = &irec;
        MailFacts ifacts;
        if (!PreparePlan(&iplan, &ifacts, &error)) {
          WaitIfInterrupted();
          std::fprintf(stderr, "aftershock: %s\n", error.c_str());
          return 2;
        }
        if (!explore_all(iplan, prefix, irec.beside_label + ": ", irec.beside_mark_seq, false)) {
          return 2;
        }
      }
      if (!options.keep_states) RemoveTreeInside(run->path(), dir);
    }
    for (size_t k = 0; k < s.models.size(); ++k) {
      const std::string& model = s.models[k];
      ModelResult mr = std::move(results[k]);
      mr.inconclusive_reasons.insert(mr.inconclusive_reasons.begin(), unproven.begin(),
                                     unproven.end());
      mr.inconclusive = !mr.inconclusive_reasons.empty();
      Judge(s, &mr);
      if (options.verbosity > 0) {
        std::fprintf(stderr, "%-28s %-18s %6lld states  %s%s\n", s.name.c_str(), model.c_str(),
                     static_cast<long long>(mr.states_explored), mr.passed ? "pass" : "FAIL",
                     mr.inconclusive ? " (inconclusive: recorder gap)" : "");
        if (options.verbosity > 1 || !mr.passed) {
          for (const auto& f : mr.expectation_failures) std::fprintf(stderr, "    %s\n", f.c_str());
        }
      }
      sr.models.push_back(std::move(mr));
    }
    report->scenarios.push_back(std::move(sr));
    if (!options.keep_states) RemoveTreeInside(run->path(), work);
  }
  report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WaitIfInterrupted();
  if (!WriteReports(*report, options.out_dir, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  if (options.verbosity > 0) {
    std::printf("\n%s\nreports: %s/{report.json,report.html,results.sarif,junit.xml,summary.md}\n",
                SummaryTable(*report).c_str(), options.out_dir.c_str());
  }
  if (input_error) return 2;
  return ExitStatus(*report);
}

std::vector<Scenario> BuiltinWorkloads(const std::string& manifest_path,
                                       std::vector<std::string>* notes) {
  auto base = [&](const std::string& name, const std::string& description) {
    Scenario s;
    s.name = "check-" + name;
    s.file = "(built-in)";
    s.description = description;
    s.target = manifest_path;
    s.models = {"process", "posix", "posix+torn", "ext4-ordered", "ext4-ordered+torn"};
    return s;
  };
  auto enqueue = [](const std::string& id, std::vector<std::string> rcpts, uint64_t size) {
    Step st;
    st.kind = StepKind::kEnqueue;
    st.id = id;
    st.rcpts = std::move(rcpts);
    st.body_size = size;
    return st;
  };
  Step deliver;
  deliver.kind = StepKind::kDeliver;
  Step restart;
  restart.kind = StepKind::kRestart;
  Step tick;
  tick.kind = StepKind::kTick;
  tick.seconds = 86400;

  std::vector<Scenario> out;
  Scenario one = base("single", "one message to one recipient, then a delivery");
  one.steps = {enqueue("m1", {"alice@local"}, 100), deliver};
  out.push_back(one);
  Scenario fan = base("fan-out", "one message to recipients in two domains");
  fan.steps = {enqueue("m1", {"alice@local", "bob@remote"}, 513), deliver};
  out.push_back(fan);
  Scenario many = base("interleaved", "messages with deliveries between them");
  many.steps = {enqueue("m1", {"alice@local"}, 0), deliver, enqueue("m2", {"bob@remote"}, 4096),
                enqueue("m3", {"carol@local"}, 1), deliver};
  out.push_back(many);
  Scenario clock = base("clock", "a day passes, then a restart and a delivery");
  clock.steps = {enqueue("m1", {"alice@local"}, 10), tick, restart, deliver};
  out.push_back(clock);

  // A daemon serves one request at a time: nothing can run beside a step.
  // An unloadable manifest keeps the workload: the run reports the error.
  Manifest manifest;
  std::string error;
  if (LoadManifest(manifest_path, &manifest, &error) && manifest.daemon()) {
    if (notes) {
      notes->push_back("check-concurrent skipped: " + manifest.name +
                       " is a daemon-mode target, which cannot run a step beside another");
    }
    return out;
  }
  auto beside = [](Step host, StepKind kind) {
    auto b = std::make_shared<Beside>();
    b->step.kind = kind;
    b->where = "(built-in check-concurrent)";
    host.beside = std::move(b);
    return host;
  };
  Scenario concurrent =
      base("concurrent", "a restart beside an enqueue, a delivery beside another enqueue");
  concurrent.steps = {beside(enqueue("m1", {"alice@local", "bob@remote"}, 300), StepKind::kRestart),
                      beside(enqueue("m2", {"carol@local"}, 100), StepKind::kDeliver)};
  // Every interleaving is a recording explored under every model from its
  // beside step to the end: a few, spread over each enqueue's calls, and no
  // step after the last host keep the check quick (the drain delivers).
  concurrent.max_interleavings = kCheckInterleavings;
  out.push_back(concurrent);
  return out;
}

}  // namespace aftershock
