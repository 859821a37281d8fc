// aftershock: crash-consistency testing for programs that queue work on disk.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "harness/cli/command.h"
#include "injector/sandbox.h"

namespace aftershock {
namespace {

// `run`, `check`, `fuzz` and `replay` run target commands: unless told
// --no-sandbox (or asked for help), the whole run lives in a PID namespace
// of its own, so nothing a target started outlives it, even a SIGKILL.
bool RunsTargets(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string command = argv[1];
  if (command != "run" && command != "check" && command != "fuzz" && command != "replay") {
    return false;
  }
  for (int i = 2; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    const std::string a = argv[i];
    if (a == "--no-sandbox" || a == "--help" || a == "-h") return false;
  }
  return true;
}

}  // namespace

std::vector<CommandInfo>& Commands() {
  static std::vector<CommandInfo> commands;
  return commands;
}

bool RegisterCommand(CommandInfo info) {
  Commands().push_back(std::move(info));
  return true;
}

}  // namespace aftershock

int main(int argc, char** argv) {
  using namespace aftershock;
  // Before any thread starts; when refused, the run says so (ConfineTargets).
  if (RunsTargets(argc, argv)) EnterRunNamespace();
  CLI::App app{
      "aftershock: runs a queue under a file-system recorder, explores every state a crash\n"
      "could leave, runs the queue's recovery on each and checks that no acknowledged\n"
      "message is lost. Exit status: 0 all expectations held, 1 a violation, 2 bad usage\n"
      "or input."};
  app.set_version_flag("--version", std::string("aftershock ") + AFTERSHOCK_VERSION);
  app.require_subcommand(1);
  int exit_status = 0;
  auto& commands = Commands();
  std::sort(commands.begin(), commands.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.order < b.order; });
  for (auto& c : commands) c.setup(app, &exit_status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors are exit status 2, as DESIGN.md says
  } catch (const std::exception& e) {
    // The last line of defence: a command meant to turn every bad input into
    // an error value. An exception here (a path the checks missed, a resource
    // the system refused) is still an error with its cause, never an abort;
    // unwinding has run the destructors that remove scratch directories.
    std::fprintf(stderr, "aftershock: %s\n", e.what());
    return 2;
  }
  return exit_status;
}
