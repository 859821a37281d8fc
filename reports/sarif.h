// results.sarif (SARIF 2.1.0) for code scanning: one result per violation
// group, at the culprit op's call site, with the root cause as its message,
// so GitHub or GitLab annotates the line that lacks its fsync.
#pragma once

#include <string>

#include "reports/report.h"

namespace aftershock {

struct SarifOptions {
  // Artifact URIs are made relative to this directory (uriBaseId SRCROOT).
  // Empty: for each source file, the nearest ancestor holding .git; files
  // under no such root keep absolute file:// URIs.
  std::string source_root;
};

std::string ReportToSarif(const Report& report, const SarifOptions& options);

// The URI of `file` for SARIF: relative ("queue/enqueue.cc") when it lies
// under `root`, else an absolute file:// URI (percent-encoded).
std::string SarifUri(const std::string& file, const std::string& root, bool* relative);

}  // namespace aftershock
