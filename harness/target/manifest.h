// A target manifest (docs/target-contract.md): how aftershock drives a queue
// it did not write.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/status.h"

namespace aftershock {

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Where delivered copies are: the sink's log, or mailboxes in the crash
// domain (maildir folders, mbox files).
enum class MailboxKind { kSink, kMaildir, kMbox };

// How an enqueue is acknowledged: a command exiting 0, or a daemon's `ok`
// answer (docs/daemon-mode.md).
enum class CommandMode { kExit, kDaemon };

struct Manifest {
  std::string file;  // absolute path of the manifest
  std::string dir;   // absolute folder holding it ({manifest_dir})
  std::string name;  // [a-z0-9._-]+
  std::string description;
  std::string init;  // commands: empty = not given
  CommandMode mode = CommandMode::kExit;
  std::string enqueue;  // exit mode: required; daemon mode: empty
  std::string serve;    // daemon mode: required; exit mode: empty
  std::string deliver;
  std::string recover;
  int64_t timeout_s = 10;
  int64_t drain_rounds = 3;
  bool network = false;  // commands.network: sandboxed commands keep the machine's network
  // commands.fork_server: recover and deliver, run for every crash state,
  // are forked from a fork server when they qualify (injector/fork_server.h).
  bool fork_server = true;
  // commands.fork_server = "deferred": the program serves from the point it
  // marks itself (aftershock_fork_server_serve; for Python,
  // targets/python/aftershock_fork_server.py), after its start-up work.
  bool fork_server_deferred = false;
  MailboxKind mailbox_kind = MailboxKind::kSink;
  std::string mailbox_path;  // maildir and mbox; may contain {rcpt}
  EnvList env;               // [env]: passed to every command
  // [gaps] rebuilt: files (relative to {root}; '*' matches within a name)
  // the target rebuilds on open; removed from every crash state before
  // recovery, and their recorder gaps are not gaps.
  std::vector<std::string> rebuilt;
  // [faults] points: libfiu fault points the target compiles in itself
  // (refqueue/enqueue/after-fsync); a scenario's [[fault]] may name them
  // beside the injector's own. A trailing '*' declares a group.
  std::vector<std::string> fault_points;
  // [promises]: what may run beside an enqueue in progress (Postfix's
  // design: its queue manager runs while enqueuers write; the age rule for
  // incomplete files exists for exactly that). `check` tests only what is
  // promised (docs/target-contract.md, "Promises").
  bool recover_beside_enqueue = true;
  bool deliver_beside_enqueue = true;
  bool daemon() const { return mode == CommandMode::kDaemon; }
  // Copies live in the crash domain and count only if they survive.
  bool mailbox_in_root() const { return mailbox_kind != MailboxKind::kSink; }
};

// Loads and validates `path` into *out. Ok iff it is a valid manifest; else
// the message is "file:line:column: message".
Status LoadManifest(const std::string& path, Manifest* out);

// Returns "" iff every {placeholder} in `command` is one the contract
// defines ({root} {id} {rcpts} {sink} {now} {manifest_dir}); else its name.
std::string UnknownPlaceholder(const std::string& command);

// True iff `point` can be a libfiu point name (or group): non-empty, without
// the blanks, ';' and '=' that separate the injector's fault rules.
bool ValidPointName(const std::string& point);

// True iff `rel` (a path relative to {root}) matches one of the manifest's
// [gaps] rebuilt patterns.
bool IsRebuilt(const Manifest& m, const std::string& rel);

// Absolute, lexically normalized form of `path` (relative to `base_dir`).
std::string AbsolutePath(const std::string& path, const std::string& base_dir);

}  // namespace aftershock
