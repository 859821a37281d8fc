// Writers of a Report. Each output file is written atomically: written to a
// temporary name beside it, fsynced, renamed over the final name, and the
// directory fsynced (the tool practises what it checks).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "reports/report.h"

namespace aftershock {

// report.json (schema: docs/report-format.md).
nlohmann::json ReportToJson(const Report& report);
// Returns true iff `json` is a report of a schema this version reads.
bool ReportFromJson(const nlohmann::json& json, Report* out, std::string* error);

std::string ReportToJunit(const Report& report);
std::string ReportToMarkdown(const Report& report);
// The table printed at the end of a run.
std::string SummaryTable(const Report& report);

// Writes `bytes` to `path` atomically. Returns true iff durable.
bool WriteFileAtomically(const std::string& path, const std::string& bytes, std::string* error);

// Writes report.json, junit.xml, summary.md, report.html and results.sarif
// into `dir` (created).
bool WriteReports(const Report& report, const std::string& dir, std::string* error);

}  // namespace aftershock
