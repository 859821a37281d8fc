// Subcommands of `aftershock` register themselves here, so each component
// (injector, harness, reports) owns its own command-line code and main.cc
// stays a few lines.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "harness/target/path_check.h"

namespace aftershock {

// Adds one subcommand to `app`; the callback runs it and sets *exit_status.
using CommandSetup = std::function<void(CLI::App& app, int* exit_status)>;

struct CommandInfo {
  const char* name;
  int order;  // position in --help
  CommandSetup setup;
};

std::vector<CommandInfo>& Commands();

// Use at namespace scope in a .cc linked with link_whole:
//   static const bool kRegistered = RegisterCommand({"record", 10, SetupRecord});
bool RegisterCommand(CommandInfo info);

// Validators for options that name paths (harness/path_check.h): a bad path
// is a usage error that names it, before the command runs.
inline CLI::Validator InputFileValidator() {
  return CLI::Validator([](std::string& path) { return InputFileError(path); }, "FILE");
}
inline CLI::Validator OutputDirValidator() {
  return CLI::Validator([](std::string& path) { return OutputDirError(path); }, "DIR");
}

}  // namespace aftershock
