#include "harness/cli/terminal.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "harness/explore/model_adapter.h"
#include "reports/findings.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

// A progress line on stderr, redrawn until stopped.
class ProgressLine {
 public:
  explicit ProgressLine(std::string label, uint64_t seq_total)
      : label_(std::move(label)), seq_total_(seq_total), thread_([this] { Loop(); }) {}
  ~ProgressLine() {
    stop_ = true;
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
  }
  void Checked(uint64_t crash_seq, bool violation) {
    ++done_;
    if (violation) ++violations_;
    seq_done_ = crash_seq;
  }

 private:
  void Loop() {
    auto start = std::chrono::steady_clock::now();
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      int64_t done = done_.load();
      uint64_t seq = seq_done_.load();
      std::string eta = "?";
      if (seq > 0 && seq_total_ > seq) {
        eta = std::to_string(static_cast<int64_t>(secs * (seq_total_ - seq) / seq)) + "s";
      }
      std::fprintf(stderr, "\r\033[K%s: %lld states, %lld violations, %.1f states/s, ETA %s",
                   label_.c_str(), static_cast<long long>(done),
                   static_cast<long long>(violations_.load()), secs > 0 ? done / secs : 0.0,
                   eta.c_str());
      std::fflush(stderr);
    }
  }
  std::string label_;
  uint64_t seq_total_;
  std::atomic<int64_t> done_{0};
  std::atomic<int64_t> violations_{0};
  std::atomic<uint64_t> seq_done_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class TerminalObserver : public RunObserver {
 public:
  TerminalObserver(int verbosity, const ShardSpec& shard)
      : verbosity_(verbosity), tty_(isatty(2) && verbosity > 0), shard_(shard) {}

  void RunStarted(size_t scenarios, uint64_t seed, int jobs, const std::string& kept) override {
    if (!kept.empty())
      std::fprintf(stderr, "aftershock: keeping crash states in %s\n", kept.c_str());
    if (verbosity_ == 0) return;
    std::fprintf(stderr, "aftershock %s: %zu scenario(s), seed %llu, %d job(s)%s\n",
                 AFTERSHOCK_VERSION, scenarios, static_cast<unsigned long long>(seed), jobs,
                 ModelAvailable() ? "" : " [model stand-in: step boundaries only]");
  }
  void ExplorationStarted(const std::string& label, uint64_t seq_total) override {
    if (tty_) line_ = std::make_unique<ProgressLine>(label, seq_total);
  }
  void StateChecked(uint64_t crash_seq, bool violation) override {
    if (line_) line_->Checked(crash_seq, violation);
  }
  void ExplorationFinished() override { line_.reset(); }
  void Warning(const std::string& scenario, const std::string& what) override {
    std::fprintf(stderr, "aftershock: %s: warning: %s\n", scenario.c_str(), what.c_str());
  }
  void Notes(const std::string& scenario, const std::vector<std::string>& notes) override {
    if (verbosity_ < 2) return;
    for (const auto& n : notes) std::fprintf(stderr, "  %s: %s\n", scenario.c_str(), n.c_str());
  }
  void InterleavingsFound(const std::string& scenario, size_t count) override {
    if (verbosity_ == 0) return;
    std::fprintf(stderr, "%-28s %zu interleaving(s) with beside steps\n", scenario.c_str(), count);
  }
  void ModelJudged(const std::string& scenario, const ModelResult& mr) override {
    if (verbosity_ == 0) return;
    // A shard's counts are a share: only the merge is judged.
    std::string result = shard_.Active() ? "shard " + shard_.Label() + ", judged by the merge"
                         : mr.passed     ? "pass"
                                         : "FAIL";
    std::fprintf(stderr, "%-28s %-18s %6lld states  %s%s\n", scenario.c_str(), mr.model.c_str(),
                 static_cast<long long>(mr.states_explored), result.c_str(),
                 mr.inconclusive ? " (inconclusive: recorder gap)" : "");
    if (shard_.Active() || (verbosity_ < 2 && mr.passed)) return;
    for (const auto& f : mr.expectation_failures) std::fprintf(stderr, "    %s\n", f.c_str());
  }

 private:
  int verbosity_;
  bool tty_;
  ShardSpec shard_;
  std::unique_ptr<ProgressLine> line_;
};

// "2 findings (1 unexpected, 1 expected)", then one line per root cause with
// the states, scenarios and models it explains (reports/findings.h).
std::string FindingsText(const Report& report) {
  std::vector<Finding> findings = FindFindings(report);
  std::string out = FindingsHeadline(findings) + "\n";
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    const FindingPlace& p = f.places.front();
    const ViolationGroup& g = report.scenarios[p.scenario].models[p.model].groups[p.group];
    std::string site = g.evidence.culprit.Site();
    out += "  " + std::to_string(i + 1) + ". " + std::string(VerdictName(f.verdict)) +
           (f.expected ? " (expected)" : "") + ": " + f.title + "\n     " + FindingReach(f) +
           (site.empty() ? "" : "; culprit " + site) + "\n";
  }
  return out;
}

}  // namespace

void PrintReportSummary(const Report& report, const std::string& out_dir) {
  std::printf("\n%s\n%s\nreports: %s/{report.json,report.html,results.sarif,junit.xml,summary.md}\n",
              FindingsText(report).c_str(), SummaryTable(report).c_str(), out_dir.c_str());
}

int RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options,
                 Report* report) {
  TerminalObserver observer(options.verbosity, options.shard);
  RunOutcome outcome = ExploreScenarios(scenarios, options, &observer, report);
  for (const auto& e : outcome.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (outcome.reports_written && options.verbosity > 0) {
    PrintReportSummary(*report, options.out_dir);
  }
  // A shard's counts are a share: only their merge is judged.
  if (report->shard.Active() && outcome.status != RunStatus::kInputError) {
    if (options.verbosity > 0) {
      std::printf("shard %s done: its share only; `aftershock merge` of every shard's --out "
                  "judges the run\n",
                  report->shard.Label().c_str());
    }
    return 0;
  }
  switch (outcome.status) {
    case RunStatus::kHeld:
      return 0;
    case RunStatus::kViolation:
      return 1;
    case RunStatus::kInputError:
      return 2;
    case RunStatus::kNotProven:
      return kExitNotProven;
  }
  return 2;
}

}  // namespace aftershock
