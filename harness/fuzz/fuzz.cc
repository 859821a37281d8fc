#include "harness/fuzz/fuzz.h"

#include <rapidcheck/detail/TestListenerAdapter.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "common/file_io.h"
#include "harness/explore/recovery.h"
#include "harness/fuzz/fuzz_probe.h"
#include "harness/fuzz/fuzz_scenario.h"
#include "harness/target/run_dir.h"
#include "injector/sandbox.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// What the property and the progress line share. Written by the property
// (one thread: RapidCheck runs cases one after another), read by the printer.
struct SearchState {
  Clock::time_point start = Clock::now();
  std::atomic<int64_t> workloads{0};
  std::atomic<int64_t> shrinks_tried{0};
  std::atomic<int64_t> shrinks_accepted{0};
  std::atomic<int64_t> states{0};
  std::atomic<bool> failed{false};
  std::atomic<size_t> best_steps{0};
  double shrink_deadline_s = 0;
  std::string fatal;       // a harness or input error: stop everything
  std::vector<Step> best;  // the smallest violating workload so far
  ProbeResult best_result;
  double found_after_s = 0;
  int64_t found_after_workloads = 0;
  std::map<std::string, ProbeResult> memo;  // by DescribeSteps(): shrinks revisit workloads
};

// printf into a string: the engine composes its lines, the command layer
// prints them (FuzzOutput).
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list again;
  va_copy(again, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string out(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(out.data(), out.size() + 1, fmt, again);
  va_end(again);
  return out;
}

// The progress line on a terminal.
class FuzzProgress {
 public:
  FuzzProgress(const SearchState* st, double budget_s, bool enabled, FuzzOutput* out)
      : st_(st), budget_s_(budget_s), enabled_(enabled), out_(out) {
    if (enabled_) thread_ = std::thread([this] { Loop(); });
  }
  ~FuzzProgress() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (enabled_) out_->Status("");
  }

 private:
  void Loop() {
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      double secs = SecondsSince(st_->start);
      if (!st_->failed.load()) {
        out_->Status(Format("fuzz: %lld workloads, %lld states (%.0f/s), %.0f s left",
                            static_cast<long long>(st_->workloads.load()),
                            static_cast<long long>(st_->states.load()),
                            secs > 0 ? st_->states.load() / secs : 0.0,
                            std::max(0.0, budget_s_ - secs)));
      } else {
        out_->Status(
            Format("fuzz: violation found; shrinking: %lld tried, %lld smaller, now %zu steps",
                   static_cast<long long>(st_->shrinks_tried.load()),
                   static_cast<long long>(st_->shrinks_accepted.load()), st_->best_steps.load()));
      }
    }
  }
  const SearchState* st_;
  double budget_s_;
  bool enabled_;
  FuzzOutput* out_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The regression scenario for the minimal workload: its violation expected
// under the models that show it, no violation under those that show none.
// Models showing only other violations are left out (their own bug).
Scenario RegressionScenario(const Scenario& base, const ProbeResult& full, Verdict verdict,
                            const std::string& name) {
  Scenario s = base;
  s.name = name;
  s.models.clear();
  s.expect = Expectation();
  s.expect.violation = std::string(VerdictName(verdict));
  for (const std::string& name : base.models) {
    auto found = std::find_if(full.models.begin(), full.models.end(),
                              [&](const ProbeModel& m) { return m.model == name; });
    if (found == full.models.end()) continue;
    const ProbeModel& m = *found;
    bool any = false;
    for (int v = 0; v < kVerdictCount; ++v)
      any |= IsViolation(static_cast<Verdict>(v)) && m.verdicts[v];
    if (m.Count(verdict) > 0) {
      s.models.push_back(m.model);
      s.expect.violation_models.push_back(m.model);
    } else if (!any) {
      s.models.push_back(m.model);
    }
  }
  // Every model shows it: no list needed.
  if (s.expect.violation_models.size() == s.models.size()) s.expect.violation_models.clear();
  return s;
}

// Everything a fuzz run prints but its progress line (FuzzProgress): what it
// searches, each case (verbose), what it found. Errors go to stderr as
// "aftershock: ...", the closing line to stdout.
class FuzzConsole {
 public:
  FuzzConsole(int verbosity, FuzzOutput* out) : verbosity_(verbosity), out_(out) {}

  // Returns 2, the exit status of a harness or input error.
  int Error(const std::string& message) const {
    out_->Note("aftershock: " + message);
    return 2;
  }

  void Start(const FuzzOptions& o, const Manifest& manifest, const WorkloadSpace& space,
             uint64_t seed) const {
    if (verbosity_ <= 0) return;
    std::string env;
    for (const auto& [k, v] : o.env) env += " " + k + "=" + v;
    out_->Note(
        Format("aftershock fuzz: target %s%s, models %s, strategy %s, at most %d steps, "
               "budget %.0f s, %d job(s)",
               manifest.name.c_str(), env.c_str(), Join(o.models, " ").c_str(), o.strategy.c_str(),
               space.max_steps, o.budget_s, o.jobs));
    out_->Note(Format("aftershock fuzz: seed %llu (--seed %llu repeats this run)",
                      static_cast<unsigned long long>(seed),
                      static_cast<unsigned long long>(seed)));
  }

  void Case(bool shrinking, const ProbeResult& r, const std::string& key) const {
    if (verbosity_ <= 1) return;
    out_->Note(std::string(shrinking ? "shrink" : "case") + " " +
               (r.violation ? std::string(VerdictName(r.verdict)) : "ok") + ": " + key);
  }

  // `other`: why RapidCheck ended, when not for the budget.
  void NoViolation(const SearchState& st, uint64_t seed, const std::string& other) const {
    out_->Result(Format(
        "no violation found in %lld workloads (%lld crash states) in %.1f s, seed "
        "%llu%s",
        static_cast<long long>(st.workloads.load()), static_cast<long long>(st.states.load()),
        SecondsSince(st.start), static_cast<unsigned long long>(seed), other.c_str()));
  }

  void Found(const SearchState& st, const FuzzOutcome& outcome) const {
    if (verbosity_ <= 0) return;
    out_->Note(Format("aftershock fuzz: %s under %s after %lld workloads (%.1f s): %s",
                      outcome.verdict.c_str(), st.best_result.model.c_str(),
                      static_cast<long long>(st.found_after_workloads), st.found_after_s,
                      st.best_result.detail.c_str()));
    out_->Note(Format("aftershock fuzz: shrunk (%lld tries, %lld smaller) to %zu step(s):",
                      static_cast<long long>(st.shrinks_tried.load()),
                      static_cast<long long>(st.shrinks_accepted.load()), outcome.steps.size()));
    for (size_t i = 0; i < outcome.steps.size(); ++i) {
      out_->Note(Format("  %zu. %s", i + 1, outcome.steps[i].c_str()));
    }
    out_->Note("aftershock fuzz: scenario " + outcome.scenario_file);
  }

 private:
  int verbosity_;
  FuzzOutput* out_;
};

// One `aftershock fuzz` run: the search, then the minimal workload written
// as a scenario and run once more for the reports.
class FuzzRun {
 public:
  FuzzRun(const FuzzOptions& o, FuzzOutput* out, FuzzOutcome* outcome)
      : o_(o), outcome_(outcome), out_(out), console_(o.verbosity, out) {}

  // RunFuzz's contract.
  int Run();

 private:
  // Loads the manifest, picks the seed, makes the run directory.
  Status Prepare();
  // RapidCheck over generated workloads until the budget or a violation
  // shrunk as far as the shrink budget allows.
  rc::detail::TestResult Search();
  // One case of the property: a generated workload, probed unless seen.
  void Property();
  bool Probe(const std::vector<Step>& steps, bool stop_at_first, ProbeResult* r);
  // Notes a violating workload: the first found, or a smaller one.
  void Keep(const std::vector<Step>& steps, const ProbeResult& r, bool shrinking, double elapsed);
  // The minimal workload under every model, written as a regression
  // scenario. Returns 1, or 2 on an error.
  int WriteFound();
  // The regression scenario for the minimal workload, whose full run is `full`.
  Scenario Regression(const ProbeResult& full, const std::string& name) const;
  std::string RegressionComment(const std::string& file) const;

  const FuzzOptions& o_;
  FuzzOutcome* const outcome_;
  FuzzOutput* const out_;
  const FuzzConsole console_;
  Manifest manifest_;
  uint64_t seed_ = 0;
  WorkloadSpace space_;
  Scenario base_;
  std::unique_ptr<RunDir> run_;
  std::string sandbox_;  // how target commands are confined (ConfineTargets)
  ToolPaths tools_;
  SearchState st_;
  ProbeSetup setup_;
  ForkServerCheck fork_check_;  // one for every probe of the session
  int64_t probe_counter_ = 0;
};

int FuzzRun::Run() {
  *outcome_ = FuzzOutcome();
  if (Status st = Prepare(); !st.ok()) return console_.Error(st.message());
  console_.Start(o_, manifest_, space_, seed_);
  if (!SandboxActive()) out_->Note("aftershock: warning: target commands " + sandbox_);
  rc::detail::TestResult result = Search();
  WaitIfInterrupted();
  outcome_->workloads = st_.failed ? st_.found_after_workloads : st_.workloads.load();
  outcome_->shrinks_tried = st_.shrinks_tried.load();
  outcome_->shrinks_accepted = st_.shrinks_accepted.load();
  if (!st_.fatal.empty()) return console_.Error(st_.fatal);
  if (st_.failed) return WriteFound();
  std::string other;
  if (result.template is<rc::detail::Error>() || result.template is<rc::detail::GaveUpResult>()) {
    std::ostringstream os;
    rc::detail::printResultMessage(result, os);
    other = " (RapidCheck: " + os.str() + ")";
  }
  console_.NoViolation(st_, seed_, other);
  return 0;
}

Status FuzzRun::Prepare() {
  std::string manifest_path = AbsolutePath(o_.target, fs::current_path().string());
  if (Status st = LoadManifest(manifest_path, &manifest_); !st.ok()) return st;
  seed_ = o_.seed ? *o_.seed : (uint64_t{std::random_device()()} << 32) | std::random_device()();
  space_ = o_.space;
  space_.rcpts = RcptsForDomains(o_.domains);
  // A daemon serves one request at a time: nothing can run beside a step.
  if (manifest_.daemon()) space_.beside_one_in = 0;

  base_.file = "(fuzz)";
  base_.target = manifest_.file;
  base_.models = o_.models;
  base_.strategy = o_.strategy;
  base_.seed = seed_;
  base_.seed_given = true;
  base_.max_states = o_.max_states;
  base_.max_interleavings = o_.max_interleavings;
  base_.env = o_.env;

  if (Status st = RunDir::Create(&run_); !st.ok()) return st;
  std::vector<std::string> sandbox_notes;
  sandbox_ = run_->ConfineTargets(o_.sandbox, &sandbox_notes);
  tools_ = FindToolPaths();
  setup_.manifest = &manifest_;
  setup_.tools = &tools_;
  setup_.run_dir = run_->path();
  setup_.jobs = o_.jobs;
  setup_.states_done = &st_.states;
  setup_.fork_check = &fork_check_;
  return Status::Ok();
}

rc::detail::TestResult FuzzRun::Search() {
  rc::detail::TestParams params;
  params.seed = seed_;
  params.maxSuccess = static_cast<int>(std::min<int64_t>(o_.max_cases, INT_MAX));
  params.maxSize = rc::kNominalSize;
  params.maxDiscardRatio = 10;
  rc::detail::TestMetadata metadata;
  metadata.id = "aftershock fuzz";
  metadata.description = "no workload loses, corrupts or invents mail";
  rc::detail::TestListenerAdapter listener;
  FuzzProgress progress(&st_, o_.budget_s, out_->Interactive() && o_.verbosity > 0, out_);
  // An empty reproduce map: RC_PARAMS plays no part (the seed is ours).
  return rc::detail::checkProperty(rc::detail::toProperty([this] { Property(); }), metadata, params,
                                   listener, {});
}

void FuzzRun::Property() {
  if (!st_.fatal.empty()) return;
  double elapsed = SecondsSince(st_.start);
  bool shrinking = st_.failed.load();
  // Past the budget every case passes untried: RapidCheck runs out its
  // count in microseconds, and a shrink refused keeps the best so far.
  if (!shrinking && (elapsed >= o_.budget_s || st_.workloads.load() >= o_.max_cases)) return;
  if (shrinking && elapsed >= st_.shrink_deadline_s) return;
  GenWorkload w = *GenWorkloads(space_);
  std::vector<Step> steps = ToSteps(w, space_);
  std::string key = DescribeSteps(steps);
  ProbeResult r;
  auto it = st_.memo.find(key);
  if (it != st_.memo.end()) {
    r = it->second;
  } else {
    if (!Probe(steps, true, &r)) return;
    st_.memo.emplace(key, r);
  }
  if (shrinking) {
    ++st_.shrinks_tried;
  } else {
    ++st_.workloads;
  }
  console_.Case(shrinking, r, key);
  if (!r.violation) return;
  Keep(steps, r, shrinking, elapsed);
  RC_FAIL(std::string(VerdictName(r.verdict)) + " under " + r.model + ": " + r.detail);
}

void FuzzRun::Keep(const std::vector<Step>& steps, const ProbeResult& r, bool shrinking,
                   double elapsed) {
  if (shrinking) {
    ++st_.shrinks_accepted;
  } else {
    st_.found_after_s = SecondsSince(st_.start);
    st_.found_after_workloads = st_.workloads.load();
    st_.shrink_deadline_s = elapsed + o_.shrink_budget_s;
    st_.failed.store(true);
  }
  st_.best = steps;
  st_.best_result = r;
  st_.best_steps.store(steps.size());
}

bool FuzzRun::Probe(const std::vector<Step>& steps, bool stop_at_first, ProbeResult* r) {
  Scenario s = base_;
  s.steps = steps;
  // The model that showed the last violation goes first: a shrink that
  // still fails then fails fast.
  if (st_.failed.load() && !st_.best_result.model.empty()) {
    auto it = std::find(s.models.begin(), s.models.end(), st_.best_result.model);
    if (it != s.models.end()) std::rotate(s.models.begin(), it, it + 1);
  }
  std::string work = run_->path() + "/case-" + std::to_string(probe_counter_++);
  Status st = ProbeWorkload(s, setup_, work, stop_at_first, r);
  if (!st.ok()) st_.fatal = st.message();
  return st.ok();
}

int FuzzRun::WriteFound() {
  // The minimal workload under every model, to the end: which models show
  // the violation, and which show nothing.
  ProbeResult full;
  if (!Probe(st_.best, false, &full)) return console_.Error(st_.fatal);
  std::string name = "fuzz-" + SafeFileName(manifest_.name) + "-" + std::to_string(seed_);
  Scenario found = Regression(full, name);
  fs::create_directories(o_.out_dir);
  std::string out_abs = fs::absolute(o_.out_dir).lexically_normal().string();
  std::string file = out_abs + "/" + name + ".toml";
  Status written = WriteFileAtomically(
      file, ScenarioToml(found, TargetPathFrom(out_abs, manifest_.file), RegressionComment(file)));
  if (!written.ok()) return console_.Error(written.message());
  run_.reset();  // one RunDir per process: the report run makes its own

  outcome_->violation = true;
  outcome_->scenario_file = file;
  outcome_->verdict = std::string(VerdictName(st_.best_result.verdict));
  for (const Step& s : found.steps) outcome_->steps.push_back(DescribeSteps({s}));
  console_.Found(st_, *outcome_);
  return 1;
}

Scenario FuzzRun::Regression(const ProbeResult& full, const std::string& name) const {
  Verdict verdict = st_.best_result.verdict;
  Scenario found = RegressionScenario(base_, full, verdict, name);
  found.steps = st_.best;
  found.description =
      "found by aftershock fuzz --seed " + std::to_string(seed_) + ": " +
      std::string(VerdictName(verdict)) + " under " +
      Join(found.expect.violation_models.empty() ? found.models : found.expect.violation_models,
           ", ");
  if (found.models.empty()) {
    // The full run no longer shows it (a flaky target): keep what the
    // search saw.
    found.models = {st_.best_result.model};
    found.expect.violation_models.clear();
  }
  return found;
}

std::string FuzzRun::RegressionComment(const std::string& file) const {
  return "Written by aftershock fuzz (seed " + std::to_string(seed_) + ", strategy " + o_.strategy +
         "): the smallest workload\nRapidCheck found that breaks the promise. First seen: " +
         std::string(VerdictName(st_.best_result.verdict)) + " under " + st_.best_result.model +
         ",\n  " + st_.best_result.detail + "\n  at: " + st_.best_result.description +
         "\nRun it with: aftershock run " + file +
         "\nIt expects the violation: once the bug is fixed, remove `violation` and\n"
         "`violation_models` from [expect] to keep it as a regression test.";
}

}  // namespace

bool ParseDuration(const std::string& text, double* seconds) {
  if (text.empty()) return false;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return false;
  }
  std::string unit = text.substr(used);
  double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : -1;
  if (scale < 0 || !std::isfinite(v) || v < 0) return false;
  *seconds = v * scale;
  return true;
}

int RunFuzz(const FuzzOptions& options, FuzzOutput* output, FuzzOutcome* outcome) {
  assert(output != nullptr);
  FuzzRun run(options, output, outcome);
  return run.Run();
}

}  // namespace aftershock
