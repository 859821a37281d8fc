#include "harness/fuzz/fuzz_scenario.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

namespace aftershock {
namespace {

std::string QuoteList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + TomlQuote(items[i]);
  return out + "]";
}

void StepFields(std::ostream& o, const Step& st) {
  o << "kind = " << TomlQuote(StepKindName(st.kind)) << "\n";
  if (st.kind == StepKind::kEnqueue) {
    if (!st.id.empty()) o << "id = " << TomlQuote(st.id) << "\n";
    o << "rcpts = " << QuoteList(st.rcpts) << "\n";
    o << "body_size = " << st.body_size << "\n";
  } else if (st.kind == StepKind::kTick) {
    o << "seconds = " << st.seconds << "\n";
  }
}

// A [[step]] table, with its [step.beside] table.
void StepTable(std::ostream& o, const Step& st) {
  o << "\n[[step]]\n";
  StepFields(o, st);
  if (!st.beside) return;
  const Beside& b = *st.beside;
  o << "\n[step.beside]\n";
  StepFields(o, b.step);
  if (b.point != "*") o << "point = " << TomlQuote(b.point) << "\n";
  if (!b.at.empty()) {
    o << "at = [";
    for (size_t i = 0; i < b.at.size(); ++i) o << (i ? ", " : "") << b.at[i];
    o << "]\n";
  }
}

void FaultTable(std::ostream& o, const Fault& f) {
  o << "\n[[fault]]\naction = " << TomlQuote(f.action) << "\npoint = " << TomlQuote(f.point)
    << "\nnth = " << f.nth << "\n";
  if (f.action == "fail") o << "errno = " << TomlQuote(f.err) << "\n";
  if (f.action == "short") o << "bytes = " << f.bytes << "\n";
  if (f.step) o << "step = " << f.step << "\n";
  if (!f.during.empty()) o << "during = " << TomlQuote(f.during) << "\n";
}

void ExpectTable(std::ostream& o, const Expectation& e) {
  o << "\n[expect]\n";
  if (!e.violation.empty()) {
    o << "violation = " << TomlQuote(e.violation) << "\n";
    if (!e.violation_models.empty()) {
      o << "violation_models = " << QuoteList(e.violation_models) << "\n";
    }
  }
  o << "lost = " << e.max_lost << "\ncorrupt = " << e.max_corrupt << "\nphantom = " << e.max_phantom
    << "\nrecovery_failed = " << e.max_recovery_failed << "\n";
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.6g", e.max_duplicate_rate);
  std::string r = rate;
  if (r.find_first_of(".e") == std::string::npos) r += ".0";
  o << "max_duplicate_rate = " << r << "\n";
}

}  // namespace

std::string TomlQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string TargetPathFrom(const std::string& dir, const std::string& manifest) {
  namespace fs = std::filesystem;
  fs::path d = fs::path(dir).lexically_normal(), m = fs::path(manifest).lexically_normal();
  auto di = d.begin(), mi = m.begin();
  int shared = 0;
  while (di != d.end() && mi != m.end() && *di == *mi) ++di, ++mi, ++shared;
  // Only the root "/" in common: a relative path would climb to it.
  if (shared <= 1) return m.string();
  return m.lexically_relative(d).string();
}

std::string ScenarioToml(const Scenario& s, const std::string& target, const std::string& comment) {
  std::ostringstream o;
  std::istringstream lines(comment);
  for (std::string line; std::getline(lines, line);) o << "# " << line << "\n";
  if (!comment.empty()) o << "\n";
  o << "name = " << TomlQuote(s.name) << "\n";
  if (!s.description.empty()) o << "description = " << TomlQuote(s.description) << "\n";
  o << "target = " << TomlQuote(target) << "\n";
  o << "models = " << QuoteList(s.models) << "\n";
  o << "strategy = " << TomlQuote(s.strategy) << "\n";
  o << "seed = " << s.seed << "\n";
  if (s.nested) o << "nested = " << s.nested << "\n";
  o << "clock_start = " << s.clock_start << "\n";
  o << "max_states = " << s.max_states << "\n";
  if (s.strategy == "random") o << "random_states = " << s.random_states << "\n";
  if (s.max_interleavings != Scenario().max_interleavings) {
    o << "max_interleavings = " << s.max_interleavings << "\n";
  }
  if (!s.env.empty()) {
    o << "\n[env]\n";
    for (const auto& [key, value] : s.env) o << TomlQuote(key) << " = " << TomlQuote(value) << "\n";
  }
  for (const Step& st : s.steps) StepTable(o, st);
  for (const Fault& f : s.faults) FaultTable(o, f);
  ExpectTable(o, s.expect);
  return o.str();
}

}  // namespace aftershock
