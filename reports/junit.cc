#include <cstdio>

#include "reports/findings.h"
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

// The "findings" testsuite: one testcase per root cause (reports/findings.h),
// failing unless every violation it explains was expected. Adds to the totals.
std::string FindingsSuite(const Report& r, int* tests, int* failures) {
  std::vector<Finding> findings = FindFindings(r);
  if (findings.empty()) return "";
  std::string cases;
  int f_count = 0;
  for (const Finding& f : findings) {
    const FindingPlace& p = f.places.front();
    const ViolationGroup& g = r.scenarios[p.scenario].models[p.model].groups[p.group];
    std::string name = std::string(VerdictName(f.verdict)) + ": " + f.title;
    std::string where = FindingReach(f);
    std::string body = where + "\nfingerprint " + f.fingerprint + "\nculprit " +
                       g.evidence.culprit.Site() + "\nstate " + g.example_state + ": " +
                       g.example_description + "\n" + g.example_detail +
                       (g.example_log.empty() ? "" : "\noutput: " + g.example_log) +
                       "\nreproduce: " + g.reproduce;
    cases += "    <testcase classname=\"findings\" name=\"" + Xml(name) + "\">\n";
    if (!f.expected) {
      ++f_count;
      cases += "      <failure message=\"" + Xml(where + ", e.g. " + g.example_state + ": " +
                                               g.example_detail) +
               "\">" + Xml(body) + "</failure>\n";
    } else {
      cases += "      <system-out>" + Xml("expected by the scenario\n" + body) + "</system-out>\n";
    }
    cases += "    </testcase>\n";
  }
  *tests += static_cast<int>(findings.size());
  *failures += f_count;
  return "  <testsuite name=\"findings\" tests=\"" + std::to_string(findings.size()) +
         "\" failures=\"" + std::to_string(f_count) + "\" errors=\"0\">\n" + cases +
         "  </testsuite>\n";
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
      // One testcase for the expectations; violations are findings (below).
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
  suites += FindingsSuite(r, &tests, &failures);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"aftershock\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
         std::to_string(errors) + "\" time=\"" + Seconds(r.seconds) + "\">\n" + suites +
         "</testsuites>\n";
}

}  // namespace aftershock
