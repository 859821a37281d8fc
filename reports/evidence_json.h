// Evidence in report.json (docs/report-format.md, "evidence").
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "reports/evidence.h"
#include "reports/json_in.h"

namespace aftershock {

nlohmann::json EvidenceToJson(const Evidence& e);
// Missing members keep their defaults (older reports have no evidence);
// members of the wrong type throw JsonInError naming the member.
Evidence EvidenceFromJson(const JsonIn& j);

}  // namespace aftershock
