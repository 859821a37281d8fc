#include "reports/sarif.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "reports/findings.h"

namespace aftershock {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Rule {
  Verdict verdict;
  const char* id;
  const char* name;
  const char* text;
};
constexpr Rule kRules[] = {
    {Verdict::kLost, "aftershock/lost", "LostAcknowledgedMessage",
     "An acknowledged message is not delivered to a recipient after a crash and recovery."},
    {Verdict::kCorrupt, "aftershock/corrupt", "CorruptDelivery",
     "A delivered copy differs from the message that was submitted."},
    {Verdict::kPhantom, "aftershock/phantom", "PhantomDelivery",
     "A copy of a message no one submitted, or to a recipient it never had, is delivered."},
    {Verdict::kRecoveryFailed, "aftershock/recovery-failed", "RecoveryFailed",
     "The target's recovery or delivery failed or hung on a crash state."},
    {Verdict::kDuplicate, "aftershock/duplicate", "DuplicateDelivery",
     "A message is delivered more than once to a recipient (allowed, but counted)."},
    {Verdict::kUnackedDelivered, "aftershock/unacked-delivered", "UnacknowledgedDelivered",
     "A message whose enqueue was not acknowledged is delivered (allowed)."},
};

// Not a verdict: a scenario x model whose recording has a recorder gap.
constexpr Rule kInconclusiveRule = {
    Verdict::kOk, "aftershock/inconclusive", "InconclusiveExploration",
    "The recorder missed calls of the target (a recorder gap): crash states may lack what it "
    "missed, so finding no violation is not a proof."};

int RuleIndex(Verdict v) {
  for (size_t i = 0; i < std::size(kRules); ++i) {
    if (kRules[i].verdict == v) return static_cast<int>(i);
  }
  return 0;
}

// Stable across builds and platforms (std::hash is not).
std::string Fingerprint(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string PercentEncode(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The nearest ancestor of `file` that holds .git, "" when none.
std::string GitRoot(const std::string& file) {
  std::error_code ec;
  fs::path p = fs::path(file).parent_path();
  while (!p.empty()) {
    if (fs::exists(p / ".git", ec)) return p.string();
    if (p == p.root_path()) break;
    p = p.parent_path();
  }
  return "";
}

}  // namespace

namespace {

// A note on the scenario file: the result of this scenario x model is unproven.
json InconclusiveResult(const ScenarioResult& s, const ModelResult& m, const std::string& root) {
  std::string text = "inconclusive: the recorder missed calls of the target, so " +
                     std::string(m.groups.empty() ? "no violation" : "the result") +
                     " is not a proof [scenario " + s.name + ", model " + m.model + "]:";
  for (const auto& why : m.inconclusive_reasons) text += " " + why + ";";
  if (text.back() == ';') text.pop_back();
  json result = {{"ruleId", kInconclusiveRule.id},
                 {"ruleIndex", static_cast<int>(std::size(kRules))},
                 {"level", "note"},
                 {"message", {{"text", text}}},
                 {"partialFingerprints",
                  {{"aftershockGroup/v1", Fingerprint(s.name + "|" + m.model + "|inconclusive")}}},
                 {"properties",
                  {{"scenario", s.name},
                   {"model", m.model},
                   {"inconclusiveReasons", m.inconclusive_reasons}}}};
  if (!s.file.empty() && s.file[0] != '(') {
    bool relative = false;
    std::string scen_root = root.empty() ? GitRoot(fs::absolute(s.file).string()) : root;
    json artifact = {{"uri", SarifUri(fs::absolute(s.file).string(), scen_root, &relative)}};
    if (relative && !scen_root.empty() && scen_root == root) artifact["uriBaseId"] = "SRCROOT";
    result["locations"] = json::array({{{"physicalLocation", {{"artifactLocation", artifact}}}}});
  }
  return result;
}

}  // namespace

std::string SarifUri(const std::string& file, const std::string& root, bool* relative) {
  fs::path f = fs::path(file).lexically_normal();
  *relative = false;
  if (!root.empty() && f.is_absolute()) {
    fs::path rel = f.lexically_relative(fs::path(root).lexically_normal());
    if (!rel.empty() && *rel.begin() != "..") {
      *relative = true;
      return PercentEncode(rel.generic_string());
    }
  }
  if (f.is_absolute()) return "file://" + PercentEncode(f.generic_string());
  *relative = true;  // as DWARF recorded it: relative to an unknown build directory
  return PercentEncode(f.generic_string());
}

namespace {

// The physicalLocation of a source line. Sets *root from `site` when empty.
json SourceLocation(const CodeSite& site, std::string* root) {
  if (root->empty()) *root = GitRoot(site.file);
  bool relative = false;
  json artifact = {{"uri", SarifUri(site.file, *root, &relative)}};
  if (relative && !root->empty()) artifact["uriBaseId"] = "SRCROOT";
  return {{"artifactLocation", artifact}, {"region", {{"startLine", site.line}}}};
}

// Where group `g` points: its culprit's source line, or else the scenario
// file; null when neither is known. Sets *root from the culprit when empty.
json GroupLocation(const ScenarioResult& s, const ViolationGroup& g, std::string* root) {
  const Culprit& c = g.evidence.culprit;
  if (c.HasSource()) {
    json location = {{"physicalLocation", SourceLocation(c, root)}};
    if (!c.function.empty())
      location["logicalLocations"] = {{{"fullyQualifiedName", c.function}, {"kind", "function"}}};
    location["message"] = {{"text", "op " + std::to_string(c.seq) + " (" + c.role + "): " + c.op +
                                        " [scenario " + s.name + "]"}};
    return location;
  }
  if (s.file.empty() || s.file[0] == '(') return nullptr;
  bool relative = false;
  std::string scen_root = root->empty() ? GitRoot(fs::absolute(s.file).string()) : *root;
  json artifact = {{"uri", SarifUri(fs::absolute(s.file).string(), scen_root, &relative)}};
  if (relative && !scen_root.empty() && scen_root == *root) artifact["uriBaseId"] = "SRCROOT";
  return {{"physicalLocation", {{"artifactLocation", artifact}}},
          {"message", {{"text", "scenario " + s.name}}}};
}

// The culprit's call stack as one code flow, outermost caller first (code
// flows read in execution order); null when it has no callers. A frame
// without a source line is a location with only a message.
json StackCodeFlow(const Culprit& c, std::string* root) {
  if (c.stack.size() <= 1) return nullptr;
  json locations = json::array();
  for (size_t i = c.stack.size(); i-- > 0;) {
    const StackEntry& e = c.stack[i];
    std::string text = e.Site().empty() ? "unknown frame" : e.Site();
    if (e.wrapper) text += " (wrapper)";
    if (i == c.frame) text += " (blamed)";
    json location = {{"message", {{"text", text}}}};
    if (e.HasSource()) location["physicalLocation"] = SourceLocation(e, root);
    if (!e.function.empty())
      location["logicalLocations"] = {{{"fullyQualifiedName", e.function}, {"kind", "function"}}};
    locations.push_back({{"location", location}, {"nestingLevel", c.stack.size() - 1 - i}});
  }
  std::string how = c.stack_method.empty() ? "" : " (found by " + c.stack_method + ")";
  return {{"message", {{"text", "call stack of op " + std::to_string(c.seq) + how}}},
          {"threadFlows", json::array({{{"locations", locations}}})}};
}

// One result per finding (reports/findings.h): its primary place as the
// location, every other place as a related location, and a fingerprint
// that names the root cause, not the machine, folder or line.
json FindingResult(const Report& r, const Finding& f, std::string* root) {
  auto group = [&](const FindingPlace& p) -> const ViolationGroup& {
    return r.scenarios[p.scenario].models[p.model].groups[p.group];
  };
  const ViolationGroup& g = group(f.places.front());
  const Evidence& e = g.evidence;
  std::string text = f.title + ". " + std::to_string(f.states) + " state(s) in " +
                     std::to_string(f.scenarios.size()) + " scenario(s) under " +
                     std::to_string(f.models.size()) + " model(s). Example: " +
                     (e.root_cause.empty() ? g.cause + ": " + g.example_detail : e.root_cause) +
                     " [reproduce: " + g.reproduce + "]";
  json location = GroupLocation(r.scenarios[f.places.front().scenario], g, root);
  // Every other place once, and none that repeats the location.
  std::vector<json> seen = {location};
  json related = json::array();
  for (size_t i = 1; i < f.places.size(); ++i) {
    json loc = GroupLocation(r.scenarios[f.places[i].scenario], group(f.places[i]), root);
    if (loc.is_null() || std::find(seen.begin(), seen.end(), loc) != seen.end()) continue;
    seen.push_back(loc);
    loc["id"] = static_cast<int>(related.size());
    related.push_back(loc);
  }
  json result = {{"ruleId", kRules[RuleIndex(f.verdict)].id},
                 {"ruleIndex", RuleIndex(f.verdict)},
                 {"level", f.expected ? "warning" : "error"},
                 {"message", {{"text", text}}},
                 {"partialFingerprints", {{"aftershockFinding/v1", f.fingerprint}}},
                 {"properties",
                  {{"scenarios", f.scenarios},
                   {"models", f.models},
                   {"states", f.states},
                   {"exampleState", g.example_state},
                   {"expected", f.expected},
                   {"reproduce", g.reproduce}}}};
  if (!location.is_null()) result["locations"] = json::array({location});
  json flow = StackCodeFlow(e.culprit, root);
  if (!flow.is_null()) result["codeFlows"] = json::array({flow});
  if (!related.empty()) result["relatedLocations"] = related;
  return result;
}

}  // namespace

std::string ReportToSarif(const Report& r, const SarifOptions& options) {
  json rules = json::array();
  for (const Rule& rule : kRules) {
    rules.push_back(
        {{"id", rule.id},
         {"name", rule.name},
         {"shortDescription", {{"text", rule.text}}},
         {"fullDescription", {{"text", rule.text}}},
         {"defaultConfiguration", {{"level", IsViolation(rule.verdict) ? "error" : "note"}}},
         {"properties", {{"tags", {"crash-consistency", "durability"}}}}});
  }
  rules.push_back({{"id", kInconclusiveRule.id},
                   {"name", kInconclusiveRule.name},
                   {"shortDescription", {{"text", kInconclusiveRule.text}}},
                   {"fullDescription", {{"text", kInconclusiveRule.text}}},
                   {"defaultConfiguration", {{"level", "note"}}},
                   {"properties", {{"tags", {"crash-consistency", "coverage"}}}}});
  std::string root = options.source_root;
  json results = json::array();
  for (const auto& s : r.scenarios) {
    for (const auto& m : s.models) {
      if (m.inconclusive) results.push_back(InconclusiveResult(s, m, root));
    }
  }
  for (const Finding& f : FindFindings(r)) results.push_back(FindingResult(r, f, &root));
  json run = {{"tool",
               {{"driver",
                 {{"name", "aftershock"},
                  {"version", r.aftershock_version.empty() ? "unknown" : r.aftershock_version},
                  {"rules", rules}}}}},
              {"results", results},
              {"columnKind", "utf16CodeUnits"}};
  if (!root.empty()) {
    std::string uri = "file://" + PercentEncode(fs::path(root).lexically_normal().generic_string());
    if (uri.back() != '/') uri += '/';
    run["originalUriBaseIds"] = {{"SRCROOT", {{"uri", uri}}}};
  }
  if (!r.command_line.empty()) {
    run["invocations"] =
        json::array({{{"commandLine", r.command_line}, {"executionSuccessful", true}}});
  }
  json doc = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
              {"version", "2.1.0"},
              {"runs", json::array({run})}};
  // Paths are bytes, JSON is UTF-8: an invalid sequence becomes U+FFFD, not an exception.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace aftershock
