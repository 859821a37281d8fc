#include <cstdio>

#include "reports/writers.h"

namespace aftershock {
namespace {

std::string Xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

}  // namespace

std::string ReportToJunit(const Report& r) {
  int tests = 0, failures = 0, errors = 0;
  std::string suites;
  for (const auto& s : r.scenarios) {
    if (!s.error.empty()) {
      ++tests;
      ++errors;
      suites +=
          "  <testsuite name=\"" + Xml(s.name) + "\" tests=\"1\" failures=\"0\" errors=\"1\">\n";
      suites += "    <testcase classname=\"" + Xml(s.name) + "\" name=\"run\">\n";
      suites +=
          "      <error message=\"" + Xml(s.error) + "\"/>\n    </testcase>\n  </testsuite>\n";
      continue;
    }
    for (const auto& m : s.models) {
      std::string cls = s.name + "." + m.model;
      std::string cases;
      int t = 0, f = 0;
      // One testcase for the expectations, one per violation group.
      ++t;
      cases += "    <testcase classname=\"" + Xml(cls) + "\" name=\"expectations\" time=\"" +
               Seconds(m.seconds) + "\">\n";
      if (!m.passed) {
        ++f;
        std::string why;
        for (const auto& e : m.expectation_failures) why += e + "\n";
        cases += "      <failure message=\"" + Xml(m.expectation_failures.front()) + "\">" +
                 Xml(why) + "</failure>\n";
      }
      // Not a failure: a gap makes a pass unproven, it does not make it wrong.
      if (m.inconclusive) {
        std::string why = "inconclusive: the recorder missed calls, so no violation is not a proof";
        for (const auto& reason : m.inconclusive_reasons) why += "\n" + reason;
        // A CI tells "proven clean" from "not proven": the latter is skipped.
        if (m.passed) cases += "      <skipped message=\"not proven (recorder gap)\"/>\n";
        cases += "      <system-out>" + Xml(why) + "</system-out>\n";
      }
      cases += "    </testcase>\n";
      for (const auto& g : m.groups) {
        ++t;
        std::string name = std::string(VerdictName(g.verdict)) + ": " + g.cause;
        cases += "    <testcase classname=\"" + Xml(cls) + "\" name=\"" + Xml(name) + "\">\n";
        // A violation group is a failure unless the scenario expected it.
        if (IsViolation(g.verdict) && !g.expected) {
          ++f;
          cases += "      <failure message=\"" +
                   Xml(std::to_string(g.count) + " state(s), e.g. " + g.example_state + ": " +
                       g.example_detail) +
                   "\">" +
                   Xml("state " + g.example_state + ": " + g.example_description + "\n" +
                       g.example_detail + "\nreproduce: " + g.reproduce) +
                   "</failure>\n";
        } else {
          cases += "      <system-out>" +
                   Xml(std::to_string(g.count) + " state(s), e.g. " + g.example_state + ": " +
                       g.example_detail + "\nreproduce: " + g.reproduce) +
                   "</system-out>\n";
        }
        cases += "    </testcase>\n";
      }
      tests += t;
      failures += f;
      suites += "  <testsuite name=\"" + Xml(cls) + "\" tests=\"" + std::to_string(t) +
                "\" failures=\"" + std::to_string(f) + "\" errors=\"0\" time=\"" +
                Seconds(m.seconds) + "\">\n" +
                (m.inconclusive ? "    <properties><property name=\"aftershock.inconclusive\" "
                                  "value=\"true\"/></properties>\n"
                                : "") +
                cases + "  </testsuite>\n";
    }
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"aftershock\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
         std::to_string(errors) + "\" time=\"" + Seconds(r.seconds) + "\">\n" + suites +
         "</testsuites>\n";
}

}  // namespace aftershock
