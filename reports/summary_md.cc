#include <cstdio>

#include "reports/findings.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

// A CI job summary or PR comment stays short; report.html has every group.
constexpr size_t kMarkdownGroupsPerModel = 3;

std::string Rate(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", r);
  return buf;
}

struct Row {
  std::string scenario, model, states, unique, lost, corrupt, phantom, failed, dup, dup_rate,
      result;
};

std::vector<Row> Rows(const Report& r) {
  std::vector<Row> rows;
  for (const auto& s : r.scenarios) {
    if (!s.error.empty()) {
      rows.push_back({s.name, "-", "-", "-", "-", "-", "-", "-", "-", "-", "ERROR"});
      continue;
    }
    for (const auto& m : s.models) {
      rows.push_back(
          {s.name, m.model, std::to_string(m.states_explored), std::to_string(m.states_unique),
           std::to_string(m.Count(Verdict::kLost)), std::to_string(m.Count(Verdict::kCorrupt)),
           std::to_string(m.Count(Verdict::kPhantom)),
           std::to_string(m.Count(Verdict::kRecoveryFailed)),
           std::to_string(m.Count(Verdict::kDuplicate)), Rate(m.duplicate_rate),
           // A shard's counts are a share: only the merge is judged.
           (r.shard.Active() ? "shard " + r.shard.Label()
                             : std::string(m.passed ? "pass" : "FAIL")) +
               (m.inconclusive ? " (inconclusive)" : "")});
    }
  }
  return rows;
}

const Row kHeader = {"scenario", "model",    "states", "unique",   "lost",  "corrupt",
                     "phantom",  "rec-fail", "dup",    "dup-rate", "result"};

std::vector<std::string> Cells(const Row& r) {
  return {r.scenario, r.model,  r.states, r.unique,   r.lost,  r.corrupt,
          r.phantom,  r.failed, r.dup,    r.dup_rate, r.result};
}

// "## 2 findings": one item per root cause, before any table.
std::string FindingsSection(const Report& r) {
  std::vector<Finding> findings = FindFindings(r);
  std::string md = "## " + FindingsHeadline(findings) + "\n\n";
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = findings[i];
    const FindingPlace& p = f.places.front();
    const ViolationGroup& g = r.scenarios[p.scenario].models[p.model].groups[p.group];
    std::string site = g.evidence.culprit.Site();
    md += std::to_string(i + 1) + ". **" + std::string(VerdictName(f.verdict)) + "**" +
          (f.expected ? " (expected)" : "") + ": " + f.title + ". " + FindingReach(f) +
          (site.empty() ? "" : "; culprit `" + site + "`") + ". Example `" + g.example_state +
          "`; reproduce: `" + g.reproduce + "`\n";
  }
  return md + (findings.empty() ? "" : "\n");
}

}  // namespace

std::string SummaryTable(const Report& r) {
  std::vector<Row> rows = Rows(r);
  std::vector<size_t> width(Cells(kHeader).size(), 0);
  auto measure = [&](const Row& row) {
    auto c = Cells(row);
    for (size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  };
  measure(kHeader);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto line = [&](const Row& row) {
    auto c = Cells(row);
    for (size_t i = 0; i < c.size(); ++i) {
      bool left = i < 2 || i + 1 == c.size();
      std::string pad(width[i] - c[i].size(), ' ');
      out += left ? c[i] + pad : pad + c[i];
      out += i + 1 == c.size() ? "\n" : "  ";
    }
  };
  line(kHeader);
  for (const auto& row : rows) line(row);
  return out;
}

std::string ReportToMarkdown(const Report& r) {
  std::string md =
      "# aftershock: " +
      std::string(!r.Passed()   ? "FAILED"
                  : r.Proven() ? "all expectations held"
                               : "all expectations held, NOT PROVEN (recorder gaps)") +
      "\n\n";
  md += "aftershock " + r.aftershock_version + ", seed " + std::to_string(r.seed) + ", started " +
        r.started_utc + ", " + Rate(r.seconds) + " s\n\n";
  if (!r.sandbox.empty()) md += "Target commands: " + r.sandbox + "\n\n";
  if (r.shard.Active()) {
    md += "**Shard " + r.shard.Label() + "** (from " + r.shard.source +
          "): its share of the crash states only; expectations are judged on the merge of "
          "every shard (`aftershock merge`).\n\n";
  }
  if (r.merged_shards > 0) {
    md += "Merged from " + std::to_string(r.merged_shards) + " shards.\n\n";
  }
  md += "Details per violation (culprit op, source line, trace, files): [report.html](report.html)\n\n";
  md += FindingsSection(r);
  md +=
      "| scenario | model | states | unique | lost | corrupt | phantom | recovery-failed | "
      "duplicate | dup rate | result |\n";
  md += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
  for (const auto& row : Rows(r)) {
    md += "| " + row.scenario + " | " + row.model + " | " + row.states + " | " + row.unique +
          " | " + row.lost + " | " + row.corrupt + " | " + row.phantom + " | " + row.failed +
          " | " + row.dup + " | " + row.dup_rate + " | " +
          (row.result.rfind("pass", 0) == 0 ? row.result : "**" + row.result + "**") + " |\n";
  }
  for (const auto& s : r.scenarios) {
    if (!s.error.empty()) {
      md += "\n## " + s.name + ": error\n\n" + s.error + "\n";
      continue;
    }
    bool any = false;
    for (const auto& m : s.models)
      any |= !m.groups.empty() || !m.passed || m.truncated || m.inconclusive;
    if (!any) continue;
    md += "\n## " + s.name + "\n\ntarget `" + s.target + "` (" + s.target_file + "), seed " +
          std::to_string(s.seed) + "\n";
    for (const auto& m : s.models) {
      if (m.groups.empty() && m.passed && !m.truncated && !m.inconclusive) continue;
      md += "\n### " + m.model + (m.passed ? "" : " (FAILED)") + "\n\n";
      for (const auto& e : m.expectation_failures) md += "- expectation: " + e + "\n";
      if (m.truncated)
        md += "- exploration stopped at max_states: not every crash state was checked\n";
      for (const auto& why : m.inconclusive_reasons)
        md += "- inconclusive (the recorder missed calls; no violation is not a proof): " + why +
              "\n";
      for (size_t gi = 0; gi < m.groups.size(); ++gi) {
        const ViolationGroup& g = m.groups[gi];
        if (gi == kMarkdownGroupsPerModel) {
          md += "- ... " + std::to_string(m.groups.size() - gi) + " more in report.html\n";
          break;
        }
        md += "- `" + std::string(VerdictName(g.verdict)) + "` x" + std::to_string(g.count) + ": " +
              g.cause + ". Example `" + g.example_state + "`: " +
              (g.evidence.root_cause.empty() ? g.example_detail : g.evidence.root_cause) +
              ". Reproduce: `" + g.reproduce + "`\n";
      }
    }
  }
  return md;
}

}  // namespace aftershock
