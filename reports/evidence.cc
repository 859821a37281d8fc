#include "reports/evidence.h"

#include <cstdio>

namespace aftershock {

std::string CodeSite::ShortFunction() const {
  // The parameter list starts at the first '(' that is not operator()'s
  // or part of "(anonymous namespace)".
  size_t from = function.find("operator()");
  from = from == std::string::npos ? 0 : from + 10;
  static constexpr std::string_view kAnonymous = "(anonymous namespace)";
  for (size_t at = function.find('(', from); at != std::string::npos;
       at = function.find('(', at + 1)) {
    if (function.compare(at, kAnonymous.size(), kAnonymous) == 0) {
      at += kAnonymous.size() - 1;
      continue;
    }
    return function.substr(0, at);
  }
  return function;
}

std::string CodeSite::Site() const {
  if (HasSource()) {
    std::string s = file + ":" + std::to_string(line);
    if (!function.empty()) s += " (" + ShortFunction() + ")";
    return s;
  }
  if (!module.empty() && offset != 0) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "+0x%llx", static_cast<unsigned long long>(offset));
    // Without debug information the symbol table may still name the function.
    return module + hex + (function.empty() ? "" : " (" + ShortFunction() + ")");
  }
  return "";
}

}  // namespace aftershock
