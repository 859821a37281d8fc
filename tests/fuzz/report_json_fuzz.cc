// Fuzz target: the report.json reader (reports/writers.h, ReportFromJson),
// as `aftershock report` and `aftershock replay` use it. Any JSON is a report
// or an error that names the member; a report read is written again by every
// writer and reads back.
#include <nlohmann/json.hpp>

#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"
#include "tests/fuzz/fuzz_input.h"

using namespace aftershock;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json j = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  Report report;
  std::string error;
  if (!ReportFromJson(j, &report, &error)) {
    if (error.empty()) fuzz::Broken("a rejected report without an error");
    if (error.find("[json.exception") != std::string::npos) {
      fuzz::Broken("a raw nlohmann message: " + error);
    }
    return 0;
  }
  (void)ReportToHtml(report);
  (void)ReportToSarif(report, SarifOptions{});
  (void)ReportToJunit(report);
  (void)ReportToMarkdown(report);
  (void)SummaryTable(report);
  // What we write, we read: the report written again is a valid report.
  std::string text = ReportToJson(report).dump(-1, ' ', false, json::error_handler_t::replace);
  Report again;
  if (!ReportFromJson(json::parse(text), &again, &error)) {
    fuzz::Broken("a report written again does not read back: " + error);
  }
  if (again.scenarios.size() != report.scenarios.size()) fuzz::Broken("scenarios lost");
  return 0;
}
