#include "harness/fuzz.h"

#include <rapidcheck/detail/TestListenerAdapter.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "harness/fuzz_probe.h"
#include "harness/fuzz_scenario.h"
#include "harness/run_dir.h"
#include "harness/runner.h"
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

// The progress line on a terminal.
class FuzzProgress {
 public:
  FuzzProgress(const SearchState* st, double budget_s, bool enabled)
      : st_(st), budget_s_(budget_s), enabled_(enabled) {
    if (enabled_) thread_ = std::thread([this] { Loop(); });
  }
  ~FuzzProgress() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  void Loop() {
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      double secs = SecondsSince(st_->start);
      if (!st_->failed.load()) {
        std::fprintf(stderr, "\r\033[Kfuzz: %lld workloads, %lld states (%.0f/s), %.0f s left",
                     static_cast<long long>(st_->workloads.load()),
                     static_cast<long long>(st_->states.load()),
                     secs > 0 ? st_->states.load() / secs : 0.0, std::max(0.0, budget_s_ - secs));
      } else {
        std::fprintf(
            stderr,
            "\r\033[Kfuzz: violation found; shrinking: %lld tried, %lld smaller, now %zu steps",
            static_cast<long long>(st_->shrinks_tried.load()),
            static_cast<long long>(st_->shrinks_accepted.load()), st_->best_steps.load());
      }
      std::fflush(stderr);
    }
  }
  const SearchState* st_;
  double budget_s_;
  bool enabled_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string Safe(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return out;
}

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

int RunFuzz(const FuzzOptions& o, FuzzOutcome* outcome) {
  *outcome = FuzzOutcome();
  Manifest manifest;
  std::string error;
  std::string manifest_path = AbsolutePath(o.target, fs::current_path().string());
  if (!LoadManifest(manifest_path, &manifest, &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  uint64_t seed =
      o.seed ? *o.seed : (uint64_t{std::random_device()()} << 32) | std::random_device()();
  WorkloadSpace space = o.space;
  space.rcpts = RcptsForDomains(o.domains);
  // A daemon serves one request at a time: nothing can run beside a step.
  if (manifest.daemon()) space.beside_one_in = 0;

  Scenario base;
  base.file = "(fuzz)";
  base.target = manifest.file;
  base.models = o.models;
  base.strategy = o.strategy;
  base.seed = seed;
  base.seed_given = true;
  base.max_states = o.max_states;
  base.max_interleavings = o.max_interleavings;
  base.env = o.env;

  std::unique_ptr<RunDir> run = RunDir::Create(&error);
  if (!run) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  ToolPaths tools = FindToolPaths();
  SearchState st;
  ProbeSetup setup;
  setup.manifest = &manifest;
  setup.tools = &tools;
  setup.run_dir = run->path();
  setup.jobs = o.jobs;
  setup.states_done = &st.states;
  if (o.verbosity > 0) {
    std::string env;
    for (const auto& [k, v] : o.env) env += " " + k + "=" + v;
    std::fprintf(stderr,
                 "aftershock fuzz: target %s%s, models %s, strategy %s, at most %d steps, budget "
                 "%.0f s, %d job(s)\naftershock fuzz: seed %llu (--seed %llu repeats this run)\n",
                 manifest.name.c_str(), env.c_str(), Join(o.models, " ").c_str(),
                 o.strategy.c_str(), space.max_steps, o.budget_s, o.jobs,
                 static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  }

  int64_t probe_counter = 0;
  auto probe = [&](const std::vector<Step>& steps, bool stop_at_first, ProbeResult* r) {
    Scenario s = base;
    s.steps = steps;
    // The model that showed the last violation goes first: a shrink that
    // still fails then fails fast.
    if (st.failed.load() && !st.best_result.model.empty()) {
      auto it = std::find(s.models.begin(), s.models.end(), st.best_result.model);
      if (it != s.models.end()) std::rotate(s.models.begin(), it, it + 1);
    }
    std::string work = run->path() + "/case-" + std::to_string(probe_counter++);
    return ProbeWorkload(s, setup, work, stop_at_first, r, &st.fatal);
  };

  auto property = [&]() {
    if (!st.fatal.empty()) return;
    double elapsed = SecondsSince(st.start);
    bool shrinking = st.failed.load();
    // Past the budget every case passes untried: RapidCheck runs out its
    // count in microseconds, and a shrink refused keeps the best so far.
    if (!shrinking && (elapsed >= o.budget_s || st.workloads.load() >= o.max_cases)) return;
    if (shrinking && elapsed >= st.shrink_deadline_s) return;
    GenWorkload w = *GenWorkloads(space);
    std::vector<Step> steps = ToSteps(w, space);
    std::string key = DescribeSteps(steps);
    ProbeResult r;
    auto it = st.memo.find(key);
    if (it != st.memo.end()) {
      r = it->second;
    } else {
      if (!probe(steps, true, &r)) return;
      st.memo.emplace(key, r);
    }
    if (shrinking) {
      ++st.shrinks_tried;
    } else {
      ++st.workloads;
    }
    if (o.verbosity > 1) {
      std::fprintf(stderr, "\r\033[K%s %s: %s\n", shrinking ? "shrink" : "case",
                   r.violation ? std::string(VerdictName(r.verdict)).c_str() : "ok", key.c_str());
    }
    if (!r.violation) return;
    if (shrinking) {
      ++st.shrinks_accepted;
    } else {
      st.found_after_s = SecondsSince(st.start);
      st.found_after_workloads = st.workloads.load();
      st.shrink_deadline_s = elapsed + o.shrink_budget_s;
      st.failed.store(true);
    }
    st.best = steps;
    st.best_result = r;
    st.best_steps.store(steps.size());
    RC_FAIL(std::string(VerdictName(r.verdict)) + " under " + r.model + ": " + r.detail);
  };

  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = static_cast<int>(std::min<int64_t>(o.max_cases, INT_MAX));
  params.maxSize = rc::kNominalSize;
  params.maxDiscardRatio = 10;
  rc::detail::TestMetadata metadata;
  metadata.id = "aftershock fuzz";
  metadata.description = "no workload loses, corrupts or invents mail";
  rc::detail::TestListenerAdapter listener;
  rc::detail::TestResult result = rc::detail::Error("not run");
  {
    FuzzProgress progress(&st, o.budget_s, isatty(2) && o.verbosity > 0);
    // An empty reproduce map: RC_PARAMS plays no part (the seed is ours).
    result =
        rc::detail::checkProperty(rc::detail::toProperty(property), metadata, params, listener, {});
  }
  WaitIfInterrupted();
  outcome->workloads = st.failed ? st.found_after_workloads : st.workloads.load();
  outcome->shrinks_tried = st.shrinks_tried.load();
  outcome->shrinks_accepted = st.shrinks_accepted.load();
  if (!st.fatal.empty()) {
    std::fprintf(stderr, "aftershock: %s\n", st.fatal.c_str());
    return 2;
  }
  if (!st.failed) {
    std::string other;
    if (result.template is<rc::detail::Error>() || result.template is<rc::detail::GaveUpResult>()) {
      std::ostringstream os;
      rc::detail::printResultMessage(result, os);
      other = " (RapidCheck: " + os.str() + ")";
    }
    std::printf("no violation found in %lld workloads (%lld crash states) in %.1f s, seed %llu%s\n",
                static_cast<long long>(st.workloads.load()),
                static_cast<long long>(st.states.load()), SecondsSince(st.start),
                static_cast<unsigned long long>(seed), other.c_str());
    return 0;
  }

  // The minimal workload under every model, to the end: which models show
  // the violation, and which show nothing.
  ProbeResult full;
  Verdict verdict = st.best_result.verdict;
  if (!probe(st.best, false, &full)) {
    std::fprintf(stderr, "aftershock: %s\n", st.fatal.c_str());
    return 2;
  }
  std::string name = "fuzz-" + Safe(manifest.name) + "-" + std::to_string(seed);
  Scenario found = RegressionScenario(base, full, verdict, name);
  found.steps = st.best;
  found.description =
      "found by aftershock fuzz --seed " + std::to_string(seed) + ": " +
      std::string(VerdictName(verdict)) + " under " +
      Join(found.expect.violation_models.empty() ? found.models : found.expect.violation_models,
           ", ");
  if (found.models.empty()) {
    // The full run no longer shows it (a flaky target): keep what the
    // search saw.
    found.models = {st.best_result.model};
    found.expect.violation_models.clear();
  }
  fs::create_directories(o.out_dir);
  std::string out_abs = fs::absolute(o.out_dir).lexically_normal().string();
  std::string file = out_abs + "/" + name + ".toml";
  std::string comment =
      "Written by aftershock fuzz (seed " + std::to_string(seed) + ", strategy " + o.strategy +
      "): the smallest workload\nRapidCheck found that breaks the promise. First seen: " +
      std::string(VerdictName(st.best_result.verdict)) + " under " + st.best_result.model +
      ",\n  " + st.best_result.detail + "\n  at: " + st.best_result.description +
      "\nRun it with: aftershock run " + file +
      "\nIt expects the violation: once the bug is fixed, remove `violation` and\n"
      "`violation_models` from [expect] to keep it as a regression test.";
  if (!WriteFileAtomically(
          file, ScenarioToml(found, TargetPathFrom(out_abs, manifest.file), comment), &error)) {
    std::fprintf(stderr, "aftershock: %s\n", error.c_str());
    return 2;
  }
  run.reset();  // one RunDir per process: the report run makes its own

  outcome->violation = true;
  outcome->scenario_file = file;
  outcome->verdict = std::string(VerdictName(verdict));
  for (const Step& s : found.steps) outcome->steps.push_back(DescribeSteps({s}));
  if (o.verbosity > 0) {
    std::fprintf(stderr,
                 "aftershock fuzz: %s under %s after %lld workloads (%.1f s): %s\n"
                 "aftershock fuzz: shrunk (%lld tries, %lld smaller) to %zu step(s):\n",
                 outcome->verdict.c_str(), st.best_result.model.c_str(),
                 static_cast<long long>(st.found_after_workloads), st.found_after_s,
                 st.best_result.detail.c_str(), static_cast<long long>(st.shrinks_tried.load()),
                 static_cast<long long>(st.shrinks_accepted.load()), found.steps.size());
    for (size_t i = 0; i < outcome->steps.size(); ++i) {
      std::fprintf(stderr, "  %zu. %s\n", i + 1, outcome->steps[i].c_str());
    }
    std::fprintf(stderr, "aftershock fuzz: scenario %s\n", file.c_str());
  }

  // The usual reports, by `aftershock run`'s code on the file as written:
  // proof that it loads and reproduces.
  RunOptions ro;
  ro.jobs = o.jobs;
  ro.out_dir = o.out_dir;
  ro.replace_out = false;  // out_dir also holds the scenario file written above
  ro.verbosity = o.verbosity > 0 ? 1 : 0;
  ro.command_line = o.command_line;
  std::vector<Scenario> scenarios;
  if (!LoadScenarios({file}, ro, &scenarios, &error)) {
    std::fprintf(stderr, "aftershock: the written scenario does not load: %s\n", error.c_str());
    return 2;
  }
  Report report;
  int status = RunScenarios(scenarios, ro, &report);
  if (status == 2) return 2;
  if (status != 0) {
    std::fprintf(stderr,
                 "aftershock fuzz: warning: running %s did not show the violation again (a "
                 "flaky target?)\n",
                 file.c_str());
  }
  std::printf("violation: %s; reproduce: aftershock run %s\n", outcome->verdict.c_str(),
              file.c_str());
  return 1;
}

}  // namespace aftershock
