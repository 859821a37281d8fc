// Daemon-mode protocol (docs/daemon-mode.md), the daemon's side:
//   request : "enqueue ID RCPT... SIZE\n" followed by exactly SIZE bytes
//   answer  : "ok ID\n" | "err ID REASON\n" (ID is "-" when it was unreadable)
// Parsing is separate from I/O so it can be tested on strings.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aftershock::sqlite_queue {

inline constexpr size_t kMaxRequestLineBytes = 64 * 1024;
inline constexpr size_t kMaxMessageBytes = 64 * 1024 * 1024;

struct EnqueueRequest {
  std::string id;
  std::vector<std::string> rcpts;
  size_t size = 0;
};

struct ParsedLine {
  std::optional<EnqueueRequest> request;  // set iff the line is well formed
  std::string error;                      // why not, when request is unset
  std::string reply_id = "-";             // the ID to answer with
  // Message bytes that follow the line even though it is malformed (its last
  // word was a size), so the reader stays in step with the writer.
  size_t bytes_to_skip = 0;
};

// `line` excludes the '\n'; a trailing '\r' is ignored.
ParsedLine ParseRequestLine(std::string_view line);

// True iff `id` is 1..255 bytes of [A-Za-z0-9._-].
bool IsValidId(std::string_view id);

std::string OkLine(std::string_view id);
// The reason is flattened to one line.
std::string ErrLine(std::string_view id, std::string_view reason);

}  // namespace aftershock::sqlite_queue
