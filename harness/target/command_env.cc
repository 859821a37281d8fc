#include "harness/target/command_env.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "harness/build_paths.h"
#include "harness/target/message.h"

namespace aftershock {
namespace {

std::string QuoteIfNeeded(const std::string& s) {
  for (char c : s) {
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' ||
                 c == '-' || c == '@' || c == '+' || c == ':' || c == ',';
    if (!plain) return ShellQuote(s);
  }
  return s.empty() ? "''" : s;
}

std::string RcptsQuoted(const std::vector<std::string>& rcpts) {
  std::string s;
  for (const auto& r : rcpts) {
    if (!s.empty()) s += ' ';
    s += ShellQuote(r);
  }
  return s;
}

using Placeholder = std::pair<std::string, std::string>;  // "{root}" and its value

// The placeholder of `values` that `command` holds at `pos`, or null.
const Placeholder* PlaceholderAt(const std::string& command, size_t pos,
                                 std::span<const Placeholder> values) {
  for (const Placeholder& p : values) {
    if (command.compare(pos, p.first.size(), p.first) == 0) return &p;
  }
  return nullptr;
}

}  // namespace

ToolPaths FindToolPaths() {
  ToolPaths t;
  if (const char* build = std::getenv("AFTERSHOCK_TARGETS_BUILD"); build && *build == '/') {
    t.sink = std::string(build) + "/harness/aftershock-sink";
    t.bin = {std::string(build) + "/harness", std::string(build) + "/queue",
             std::string(build) + "/targets/sqlite"};
    return t;
  }
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string dir = ec ? std::string(kBuildHarnessDir) : self.parent_path().string();
  t.sink = dir + "/aftershock-sink";
  if (access(t.sink.c_str(), X_OK) != 0)
    t.sink = std::string(kBuildHarnessDir) + "/aftershock-sink";
  t.bin.push_back(std::filesystem::path(t.sink).parent_path().string());
  if (access(kBuildQueueDir, X_OK) == 0) t.bin.push_back(kBuildQueueDir);
  if (access(kBuildTargetsDir, X_OK) == 0) t.bin.push_back(kBuildTargetsDir);
  return t;
}

std::string ExpandCommand(const std::string& command, const CommandContext& ctx) {
  const Placeholder values[] = {
      {"{root}", QuoteIfNeeded(ctx.root)}, {"{id}", QuoteIfNeeded(ctx.id)},
      {"{rcpts}", RcptsQuoted(ctx.rcpts)}, {"{sink}", QuoteIfNeeded(ctx.tools->sink)},
      {"{now}", std::to_string(ctx.now)},  {"{manifest_dir}", QuoteIfNeeded(ctx.manifest->dir)},
  };
  std::string out;
  size_t pos = 0;
  while (pos < command.size()) {
    if (const Placeholder* p = PlaceholderAt(command, pos, values)) {
      out += p->second;
      pos += p->first.size();
    } else {
      out += command[pos++];
    }
  }
  return out;
}

EnvList CommandEnvironment(const CommandContext& ctx) {
  EnvList env = ctx.manifest->env;
  if (ctx.scenario_env) {
    for (const auto& [k, v] : *ctx.scenario_env) {
      bool found = false;
      for (auto& [ek, ev] : env) {
        if (ek == k) {
          ev = v;
          found = true;
        }
      }
      if (!found) env.emplace_back(k, v);
    }
  }
  std::string path;
  for (const auto& d : ctx.tools->bin) path += d + ":";
  const char* old = std::getenv("PATH");
  path += old ? old : "/usr/local/bin:/usr/bin:/bin";
  env.emplace_back("PATH", path);
  env.emplace_back("AFTERSHOCK_ROOT", ctx.root);
  env.emplace_back("AFTERSHOCK_SINK", ctx.tools->sink);
  env.emplace_back("AFTERSHOCK_SINK_LOG", ctx.sink_log);
  env.emplace_back("AFTERSHOCK_NOW", std::to_string(ctx.now));
  env.emplace_back("AFTERSHOCK_MANIFEST_DIR", ctx.manifest->dir);
  env.emplace_back("AFTERSHOCK_ID", ctx.id);
  env.emplace_back("AFTERSHOCK_RCPTS", RcptsQuoted(ctx.rcpts));
  // The sink marks deliveries in the trace only while it is recorded.
  env.emplace_back("AFTERSHOCK_TRACE", ctx.trace_path);
  return env;
}

std::string OwnCommandLine() {
  std::FILE* f = std::fopen("/proc/self/cmdline", "rb");
  if (!f) return "";
  std::string line, arg;
  int ch;
  while ((ch = std::fgetc(f)) != EOF) {
    if (ch == 0) {
      line += (line.empty() ? "" : " ") + arg;
      arg.clear();
    } else {
      arg += static_cast<char>(ch);
    }
  }
  std::fclose(f);
  return line;
}

Status ParseEnvAssignments(const std::vector<std::string>& assignments, EnvList* out) {
  for (const auto& kv : assignments) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::Error("--env takes KEY=VALUE, not '" + kv + "'");
    }
    out->emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return Status::Ok();
}

}  // namespace aftershock
