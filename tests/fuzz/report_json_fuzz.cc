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
  if (Status st = ReportFromJson(j, &report); !st.ok()) {
    if (st.message().empty()) fuzz::Broken("a rejected report without an error");
    if (st.message().find("[json.exception") != std::string::npos) {
      fuzz::Broken("a raw nlohmann message: " + st.message());
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
  if (Status st = ReportFromJson(json::parse(text), &again); !st.ok()) {
    fuzz::Broken("a report written again does not read back: " + st.message());
  }
  if (again.scenarios.size() != report.scenarios.size()) fuzz::Broken("scenarios lost");
  return 0;
}
