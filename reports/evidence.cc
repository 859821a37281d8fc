#include "reports/evidence.h"

#include <cstdio>

namespace aftershock {

std::string Culprit::ShortFunction() const {
  // The parameter list starts at the first '(' that is not operator()'s.
  size_t from = function.find("operator()");
  from = from == std::string::npos ? 0 : from + 10;
  return function.substr(0, function.find('(', from));
}

std::string Culprit::Site() const {
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
