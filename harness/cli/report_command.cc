// `aftershock report REPORT.json --html FILE --sarif FILE --junit FILE --md FILE`:
// any format again from report.json alone.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/cli/command.h"
#include "reports/html.h"
#include "reports/sarif.h"
#include "reports/writers.h"

namespace aftershock {
namespace {

using nlohmann::json;

struct ReportOptions {
  std::string input;
  std::string html, sarif, junit, md;
  std::string source_root;
};

// "line L, column C" of byte `offset` (nlohmann counts the bytes read,
// so the offending byte is the one before).
std::string Where(const std::string& text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i + 1 < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// The members ReportFromJson requires, checked with their JSON pointer so a
// hand-edited report says where it is wrong.
bool CheckShape(const json& j, std::string* where) {
  auto need = [&](const json& obj, const std::string& at, const char* key,
                  json::value_t type) -> bool {
    if (!obj.is_object() || !obj.contains(key)) {
      *where = at + ": missing \"" + key + "\"";
      return false;
    }
    const json& v = obj.at(key);
    bool ok = v.type() == type || (type == json::value_t::number_unsigned &&
                                   v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!ok) {
      *where = at + "/" + key + ": expected " + json(type).type_name() + ", found " + v.type_name();
      return false;
    }
    return true;
  };
  using T = json::value_t;
  if (!j.is_object()) {
    *where = "/: expected an object";
    return false;
  }
  if (!need(j, "", "schema", T::string) || !need(j, "", "schema_version", T::number_unsigned) ||
      !need(j, "", "aftershock_version", T::string) || !need(j, "", "seed", T::number_unsigned) ||
      !need(j, "", "scenarios", T::array))
    return false;
  for (size_t si = 0; si < j["scenarios"].size(); ++si) {
    const json& s = j["scenarios"][si];
    std::string at = "/scenarios/" + std::to_string(si);
    if (!need(s, at, "name", T::string) || !need(s, at, "file", T::string) ||
        !need(s, at, "models", T::array))
      return false;
    for (size_t mi = 0; mi < s["models"].size(); ++mi) {
      const json& m = s["models"][mi];
      std::string mat = at + "/models/" + std::to_string(mi);
      if (!need(m, mat, "model", T::string) || !need(m, mat, "strategy", T::string) ||
          !need(m, mat, "verdicts", T::object) || !need(m, mat, "groups", T::array))
        return false;
      for (size_t gi = 0; gi < m["groups"].size(); ++gi) {
        std::string gat = mat + "/groups/" + std::to_string(gi);
        if (!need(m["groups"][gi], gat, "verdict", T::string)) return false;
        const json& g = m["groups"][gi];
        if (g.contains("evidence") && !g["evidence"].is_object()) {
          *where = gat + "/evidence: expected object";
          return false;
        }
      }
    }
  }
  return true;
}

int RunReport(const ReportOptions& o) {
  if (o.html.empty() && o.sarif.empty() && o.junit.empty() && o.md.empty()) {
    std::fprintf(stderr,
                 "aftershock report: nothing to write: give --html, --sarif, --junit or --md\n");
    return 2;
  }
  std::ifstream in(o.input, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "aftershock report: cannot read %s\n", o.input.c_str());
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    size_t colon = what.rfind(": ");
    std::fprintf(stderr, "aftershock report: %s: %s: malformed JSON: %s\n", o.input.c_str(),
                 Where(text, e.byte).c_str(),
                 colon == std::string::npos ? what.c_str() : what.c_str() + colon + 2);
    return 2;
  }
  std::string where;
  if (!CheckShape(j, &where)) {
    std::fprintf(stderr, "aftershock report: %s: %s\n", o.input.c_str(), where.c_str());
    return 2;
  }
  Report report;
  if (Status st = ReportFromJson(j, &report); !st.ok()) {
    std::fprintf(stderr, "aftershock report: %s: %s\n", o.input.c_str(), st.message().c_str());
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
