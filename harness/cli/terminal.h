// The command layer's side of a run: a RunObserver that prints (a progress
// line on a terminal, a line per model judged, warnings; nothing but errors
// when quiet), and RunScenarios, which runs, prints the errors and the
// summary, and chooses the process exit status.
#pragma once

#include <vector>

#include "harness/explore/runner.h"

namespace aftershock {

// Runs `scenarios` and prints what the run did. Returns the process exit
// status: 0 every expectation held, 1 a violation or a failed expectation,
// 2 an input error.
int RunScenarios(const std::vector<Scenario>& scenarios, const RunOptions& options, Report* report);

// The findings, the summary table and where the reports are (stdout).
void PrintReportSummary(const Report& report, const std::string& out_dir);

}  // namespace aftershock
