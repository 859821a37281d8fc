// Writers of a Report. Each output file is written atomically: written to a
// temporary name beside it, fsynced, renamed over the final name, and the
// directory fsynced (the tool practises what it checks).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "model/status.h"
#include "reports/report.h"

namespace aftershock {

// report.json (schema: docs/report-format.md).
nlohmann::json ReportToJson(const Report& report);
// Ok iff `json` is a report of a schema this version reads (then in *out).
Status ReportFromJson(const nlohmann::json& json, Report* out);
// report.json at `path`; the error starts with the path and says where the
// file is wrong (line and column, or the member's JSON pointer).
Status ReadReportFile(const std::string& path, Report* out);

std::string ReportToJunit(const Report& report);
std::string ReportToMarkdown(const Report& report);
// The table printed at the end of a run.
std::string SummaryTable(const Report& report);

// Writes `bytes` to `path` atomically. Ok iff durable.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

// Writes report.json, junit.xml, summary.md, report.html and results.sarif
// into `dir` (created).
Status WriteReports(const Report& report, const std::string& dir);

}  // namespace aftershock
