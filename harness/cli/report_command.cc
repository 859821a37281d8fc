// `aftershock report REPORT.json --html FILE --sarif FILE --junit FILE --md FILE`:
// any format again from report.json alone.
#include <cstdio>

#include "harness/cli/command.h"
#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

struct ReportOptions {
  std::string input;
  std::string html, sarif, junit, md;
  std::string source_root;
};

int RunReport(const ReportOptions& o) {
  if (o.html.empty() && o.sarif.empty() && o.junit.empty() && o.md.empty()) {
    std::fprintf(stderr,
                 "aftershock report: nothing to write: give --html, --sarif, --junit or --md\n");
    return 2;
  }
  Report report;
  if (Status st = ReadReportFile(o.input, &report); !st.ok()) {
    std::fprintf(stderr, "aftershock report: %s\n", st.message().c_str());
    return 2;
  }
  SarifOptions sarif;
  sarif.source_root = o.source_root;
  std::vector<std::pair<std::string, std::string>> outputs;
  if (!o.html.empty()) outputs.emplace_back(o.html, ReportToHtml(report));
  if (!o.sarif.empty()) outputs.emplace_back(o.sarif, ReportToSarif(report, sarif));
  if (!o.junit.empty()) outputs.emplace_back(o.junit, ReportToJunit(report));
  if (!o.md.empty()) outputs.emplace_back(o.md, ReportToMarkdown(report));
  for (const auto& [path, bytes] : outputs) {
    if (Status st = WriteFileAtomically(path, bytes); !st.ok()) {
      std::fprintf(stderr, "aftershock report: %s\n", st.message().c_str());
      return 2;
    }
  }
  return 0;
}

void SetupReport(CLI::App& app, int* exit_status) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write report.json again as HTML, SARIF, JUnit XML or Markdown (a run writes them all).");
  cmd->add_option("REPORT", o->input, "report.json of a run")->required();
  cmd->add_option("--html", o->html, "write the HTML report here");
  cmd->add_option("--sarif", o->sarif, "write SARIF 2.1.0 for code scanning here");
  cmd->add_option("--junit", o->junit, "write JUnit XML here");
  cmd->add_option("--md", o->md, "write the Markdown summary here");
  cmd->add_option("--source-root", o->source_root,
                  "SARIF paths relative to this directory (default: each file's git root)");
  cmd->callback([o, exit_status] { *exit_status = RunReport(*o); });
}

const bool kReportRegistered = RegisterCommand({"report", 5, SetupReport});

}  // namespace
}  // namespace aftershock
