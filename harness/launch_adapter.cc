#include "harness/launch_adapter.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/file_io.h"
#include "injector/launch.h"
#include "injector/marks.h"
#include "injector/trace_file.h"

namespace aftershock {
namespace {

// The parent pid in /proc/PID/stat (the field after the parenthesized name).
pid_t ParentOf(const char* pid) {
  char path[64], buf[512];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  FILE* f = std::fopen(path, "r");
  if (!f) return -1;
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* close = std::strrchr(buf, ')');
  int ppid = -1;
  if (!close || std::sscanf(close + 1, " %*c %d", &ppid) != 1) return -1;
  return ppid;
}

// The executable `name` resolves to along `path` (a PATH value), "" if none.
std::string FindExecutable(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

}  // namespace

bool SplitPlainCommand(const std::string& command, std::vector<std::string>* words) {
  words->clear();
  std::string word;
  bool in_word = false, quoted = false;
  for (char c : command) {
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        word += c;
      }
      continue;
    }
    if (c == ' ' || c == '\t') {
      if (in_word) words->push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      quoted = true;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-,:=@+%", c)) {
      word += c;
    } else {
      return false;
    }
  }
  if (quoted) return false;
  if (in_word) words->push_back(word);
  return !words->empty() && words->front().find('=') == std::string::npos;
}

std::string LaunchOutcome::Status() const {
  switch (end) {
    case End::kExited:
      return std::to_string(code);
    case End::kSignaled:
      return "signal " + std::to_string(code);
    case End::kTimedOut:
      return "timeout";
    case End::kNotStarted:
      return "not-started";
  }
  return "?";
}

bool TracingAvailable() {
  static const bool available = access(InjectLibPath().c_str(), R_OK) == 0;
  return available;
}

void KillAllLaunched() {
  // Launch() starts every command in its own session, so each child of
  // this process leads a process group that holds all its descendants.
  pid_t self = getpid();
  DIR* d = opendir("/proc");
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    if (ParentOf(e->d_name) == self) killpg(static_cast<pid_t>(std::atoi(e->d_name)), SIGKILL);
  }
  closedir(d);
}

namespace {

LaunchOptions ToOptions(const LaunchRequest& r) {
  LaunchOptions o;
  o.command = r.command;
  o.cwd = r.cwd;
  o.record = !r.trace_path.empty();
  if (!o.record) {
    // Recovery runs for every crash state: a command the shell would only
    // split into words is started directly, saving the shell's exec. What
    // is recorded always goes through /bin/sh -c, as the contract says.
    std::string path;
    for (const auto& [k, v] : r.env) {
      if (k == "PATH") path = v;
    }
    std::vector<std::string> words;
    if (!path.empty() && SplitPlainCommand(r.command, &words)) {
      std::string exe = FindExecutable(words.front(), path);
      if (!exe.empty()) {
        words.front() = exe;
        o.command.clear();
        o.argv = std::move(words);
      }
    }
  }
  for (const auto& [k, v] : r.env) {
    // The launcher sets these itself when it records.
    if (o.record && (k == "AFTERSHOCK_TRACE" || k == "AFTERSHOCK_ROOT")) continue;
    o.env.emplace_back(k, v);
  }
  if (!r.stdin_path.empty()) {
    o.has_stdin = true;
    o.stdin_data = ReadFileBytes(r.stdin_path);
  }
  o.capture_output = true;
  o.timeout_ms = static_cast<int>(r.timeout_ms);
  if (o.record) {
    o.trace = r.trace_path;
    o.root = r.root;
    o.allow = r.allow;
    o.faults = r.faults;
  }
  return o;
}

LaunchOutcome ToOutcome(const LaunchRequest& r, const LaunchResult& res) {
  if (!r.output_path.empty() && !res.output.empty()) {
    std::ofstream(r.output_path, std::ios::binary | std::ios::app) << res.output;
  }
  LaunchOutcome out;
  size_t keep = std::min(res.output.size(), kOutputKeptBytes);
  out.output = res.output.substr(res.output.size() - keep);
  if (!res.started) {
    out.error = res.error;
  } else if (res.timed_out) {
    out.end = LaunchOutcome::End::kTimedOut;
  } else if (res.exited) {
    out.end = LaunchOutcome::End::kExited;
    out.code = res.exit_status;
  } else {
    out.end = LaunchOutcome::End::kSignaled;
    out.code = res.signal;
  }
  return out;
}

}  // namespace

LaunchOutcome Launch(const LaunchRequest& r) {
  return ToOutcome(r, aftershock::Launch(ToOptions(r)));
}

struct StartedLaunch::Impl {
  LaunchRequest request;
  RunningCommand command;
  explicit Impl(const LaunchRequest& r) : request(r), command(ToOptions(r)) {}
};

StartedLaunch::StartedLaunch(const LaunchRequest& request)
    : impl_(std::make_unique<Impl>(request)) {}
StartedLaunch::~StartedLaunch() = default;
int StartedLaunch::WaitPausedOrEnded() { return impl_->command.WaitPausedOrEnded(); }
void StartedLaunch::Resume() { impl_->command.Resume(); }
LaunchOutcome StartedLaunch::Wait() { return ToOutcome(impl_->request, impl_->command.Wait()); }
uint64_t StartedLaunch::RuleHits(int i) const { return impl_->command.RuleHits(i); }

bool CreateTraceFile(const std::string& trace_path, std::string* error) {
  return CreateTrace(trace_path, error);
}

bool AppendTraceMark(const std::string& trace_path, std::string_view label, std::string_view data) {
  return AppendMark(trace_path, label, data);
}

}  // namespace aftershock
