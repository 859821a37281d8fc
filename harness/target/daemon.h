// Daemon mode (docs/daemon-mode.md): a target's `serve` command, started
// once and fed one `enqueue` request at a time on its stdin, answering
// `ok ID` / `err ID REASON` on its stdout.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "injector/launch.h"
#include "model/status.h"

namespace aftershock {

struct DaemonAnswer {
  enum class Kind { kOk, kErr, kProtocolError };
  Kind kind = Kind::kProtocolError;
  std::string detail;  // kErr: the daemon's reason; kProtocolError: what went wrong
};

class Daemon {
 public:
  Daemon() = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();  // kills a daemon still running

  // Starts `request.command` as Launch() would (traced when
  // request.trace_path is set, own session, cwd, environment), but with
  // stdin and stdout on pipes and stderr kept for request.output_path.
  // Ok iff it started.
  Status Start(const LaunchRequest& request);

  bool running() const { return pid_ > 0; }

  // Sends one request and waits at most timeout_ms for its answer line.
  // REQUIRES: running(). After a kProtocolError the daemon is killed
  // (running() is false) and exit_status() says how it ended.
  DaemonAnswer Enqueue(const std::string& id, const std::vector<std::string>& rcpts,
                       const std::string& message, int64_t timeout_ms);

  // Closes the daemon's stdin, waits at most timeout_ms for it to exit, then
  // kills its process group. Returns the `exit` mark's status ("0",
  // "signal 9", "timeout"). A no-op returning exit_status() when not running.
  std::string Stop(int64_t timeout_ms);

  // How the last daemon ended ("" while running or never started).
  const std::string& exit_status() const { return exit_status_; }

 private:
  // Kills the group, reaps the daemon and flushes its stderr to the log.
  void Kill(const std::string& status);
  // Reaps the daemon if it has exited; returns true iff it has.
  bool Reap(int timeout_ms);
  void Finish(const std::string& status);

  pid_t pid_ = -1;
  int in_fd_ = -1;   // write end of the daemon's stdin
  int out_fd_ = -1;  // read end of the daemon's stdout
  int err_fd_ = -1;  // memfd holding its stderr
  std::string output_path_;
  std::string pending_;  // bytes read past the last answer line
  std::string exit_status_;
};

}  // namespace aftershock
