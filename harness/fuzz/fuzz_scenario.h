// Writes a scenario as TOML that LoadScenario() reads back to the same
// scenario (docs/scenarios.md): how `aftershock fuzz` hands over what it
// found as a regression.
#pragma once

#include <string>

#include "harness/target/scenario.h"

namespace aftershock {

// The TOML of `s`. `target` is written as given (relative to the file, or
// absolute); `comment` (may hold several lines) heads the file as # lines.
// Every step is written with its id; faults are written too.
std::string ScenarioToml(const Scenario& s, const std::string& target, const std::string& comment);

// How `manifest` (absolute) is best named from a file in `dir` (absolute):
// relative when the two share a folder below '/', else absolute.
std::string TargetPathFrom(const std::string& dir, const std::string& manifest);

// A TOML basic string: "..." with escapes.
std::string TomlQuote(const std::string& s);

}  // namespace aftershock
