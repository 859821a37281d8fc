#include "reports/evidence.h"

#include <cstdio>

namespace aftershock {

std::string Culprit::Site() const {
  if (HasSource()) {
    std::string s = file + ":" + std::to_string(line);
    if (!function.empty()) s += " (" + function + ")";
    return s;
  }
  if (!module.empty() && offset != 0) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "+0x%llx", static_cast<unsigned long long>(offset));
    return module + hex;
  }
  return "";
}

}  // namespace aftershock
