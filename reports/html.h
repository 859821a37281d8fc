// report.html: one self-contained page (inline CSS, SVG and a few lines of
// script; no network) that answers at a glance which acknowledged message
// is lost, by which crash, and which line of the target is to blame.
#pragma once

#include <string>
#include <string_view>

#include "reports/report.h"

namespace aftershock {

std::string ReportToHtml(const Report& report);

// Text for HTML element content and attribute values: & < > " ' escaped.
std::string HtmlEscape(std::string_view text);

namespace html_internal {
// One violation group's section; `anchor` is its id attribute.
std::string GroupSection(const ScenarioResult& s, const ModelResult& m, const ViolationGroup& g,
                         const std::string& anchor);
// Violations by crash point along the trace, for one model's groups, as an
// inline <svg>; "" when no group has crash points.
std::string CrashPointChart(const ModelResult& m, const std::string& anchor_prefix);
// Fill colour of a verdict.
const char* VerdictColor(Verdict v);
}  // namespace html_internal

}  // namespace aftershock
