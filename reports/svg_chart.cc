// Violations by crash point along the trace, as inline SVG.
#include <algorithm>
#include <cstdio>
#include <map>

#include "reports/html.h"

namespace aftershock {
namespace html_internal {
namespace {

constexpr double kWidth = 900, kHeight = 170;
constexpr double kLeft = 40, kRight = 10, kTop = 22, kBottom = 26;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

const char* VerdictColor(Verdict v) {
  switch (v) {
    case Verdict::kLost:
      return "#c62828";
    case Verdict::kCorrupt:
      return "#ad1457";
    case Verdict::kPhantom:
      return "#6a1b9a";
    case Verdict::kRecoveryFailed:
      return "#4e342e";
    case Verdict::kDuplicate:
      return "#ef6c00";
    case Verdict::kUnackedDelivered:
      return "#9e9d24";
    case Verdict::kOk:
      break;
  }
  return "#2e7d32";
}

std::string CrashPointChart(const ModelResult& m, const std::string& anchor_prefix) {
  uint64_t end = 0;
  int64_t tallest = 0;
  std::map<uint64_t, int64_t> stacked;
  const Evidence* steps = nullptr;
  for (const auto& g : m.groups) {
    end = std::max(end, g.evidence.trace_end);
    for (const auto& [seq, n] : g.evidence.crash_points) {
      end = std::max(end, seq + 1);
      tallest = std::max(tallest, stacked[seq] += n);
    }
    if (steps == nullptr && !g.evidence.workload.empty()) steps = &g.evidence;
  }
  if (stacked.empty() || end == 0) return "";
  double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto x = [&](double seq) { return kLeft + plot_w * seq / static_cast<double>(end); };
  double bar_w = std::max(2.0, plot_w / static_cast<double>(end) * 0.8);

  std::string s =
      "<h4>Violating states by crash point</h4><svg class=\"chart\" role=\"img\" "
      "xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
      Num(kWidth) + "\" height=\"" + Num(kHeight) + "\" viewBox=\"0 0 " + Num(kWidth) + " " +
      Num(kHeight) + "\"><title>violating states by crash point along the trace of " +
      HtmlEscape(m.model) + "</title>";
  // Workload steps as bands, so a bar reads as "during the second enqueue".
  if (steps != nullptr) {
    for (size_t i = 0; i < steps->workload.size(); ++i) {
      const WorkloadStep& w = steps->workload[i];
      double x0 = x(static_cast<double>(w.seq)),
             x1 = x(static_cast<double>(std::min(w.end_seq, end)));
      s += "<rect x=\"" + Num(x0) + "\" y=\"" + Num(kTop) + "\" width=\"" +
           Num(std::max(0.0, x1 - x0)) + "\" height=\"" + Num(plot_h) + "\" fill=\"" +
           (i % 2 ? "#f3f4f6" : "#e5e7eb") + "\"><title>step " + std::to_string(i + 1) + ": " +
           HtmlEscape(w.what) + "</title></rect>";
      s += "<text x=\"" + Num(x0 + 3) + "\" y=\"" + Num(kTop - 6) + "\" fill=\"#374151\">" +
           HtmlEscape(w.what.substr(0, 24)) + "</text>";
    }
  }
  // Stacked bars, each linking to its group.
  std::map<uint64_t, int64_t> base;
  for (size_t gi = 0; gi < m.groups.size(); ++gi) {
    const ViolationGroup& g = m.groups[gi];
    for (const auto& [seq, n] : g.evidence.crash_points) {
      double h = plot_h * static_cast<double>(n) / static_cast<double>(tallest);
      double y = kTop + plot_h - plot_h * static_cast<double>(base[seq]) / tallest - h;
      base[seq] += n;
      s += "<a href=\"#" + anchor_prefix + std::to_string(gi) + "\"><rect x=\"" +
           Num(x(static_cast<double>(seq)) - bar_w / 2) + "\" y=\"" + Num(y) + "\" width=\"" +
           Num(bar_w) + "\" height=\"" + Num(std::max(h, 1.0)) + "\" fill=\"" +
           VerdictColor(g.verdict) + "\"><title>crash before record " + std::to_string(seq) + ": " +
           std::to_string(n) + " " + std::string(VerdictName(g.verdict)) + " state" +
           (n == 1 ? "" : "s") + " (" + HtmlEscape(g.cause) + ")</title></rect></a>";
    }
  }
  // Axes.
  double y0 = kTop + plot_h;
  s += "<line x1=\"" + Num(kLeft) + "\" y1=\"" + Num(y0) + "\" x2=\"" + Num(kWidth - kRight) +
       "\" y2=\"" + Num(y0) + "\" stroke=\"#111827\"/>";
  s += "<text x=\"" + Num(kLeft - 4) + "\" y=\"" + Num(kTop + 8) + "\" text-anchor=\"end\">" +
       std::to_string(tallest) + "</text><text x=\"" + Num(kLeft - 4) + "\" y=\"" + Num(y0) +
       "\" text-anchor=\"end\">0</text>";
  for (int i = 0; i <= 4; ++i) {
    double seq = static_cast<double>(end) * i / 4;
    s += "<text x=\"" + Num(x(seq)) + "\" y=\"" + Num(y0 + 14) + "\" text-anchor=\"middle\">" +
         std::to_string(static_cast<uint64_t>(seq)) + "</text>";
  }
  s += "<text x=\"" + Num(kWidth - kRight) + "\" y=\"" + Num(kHeight - 1) +
       "\" text-anchor=\"end\" fill=\"#6b7280\">trace record (seq) of the crash point</text>";
  return s + "</svg>";
}

}  // namespace html_internal
}  // namespace aftershock
