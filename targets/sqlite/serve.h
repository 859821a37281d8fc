// The daemon: reads requests on one fd, answers on another, keeps one
// connection open for its whole life (docs/daemon-mode.md).
#pragma once

#include <cstddef>
#include <string>

#include "targets/sqlite/queue_db.h"

namespace aftershock::sqlite_queue {

// Buffered reads from a pipe or file descriptor, without stdio.
class InputReader {
 public:
  enum class Result { kLine, kEof, kTooLong, kError };

  explicit InputReader(int fd) : fd_(fd) {}

  // Reads through the next '\n' (not stored in *line). kEof: end of input
  // with nothing pending; an unterminated last line is returned as kLine.
  // kTooLong: the line passed max_bytes and was discarded through its '\n'.
  Result ReadLine(std::string* line, size_t max_bytes);
  // Returns true iff exactly n bytes were read into *out (or dropped when
  // out is null) before end of input.
  bool ReadExactly(size_t n, std::string* out);

 private:
  bool Fill();  // false at end of input or on error (error_ says which)

  int fd_;
  char buffer_[64 * 1024];
  size_t begin_ = 0;
  size_t end_ = 0;
  bool error_ = false;
};

// Serves requests until end of input. Each acknowledged request is one
// committed transaction, answered with a single write(2) of "ok ID\n" after
// COMMIT returned. Returns the process exit status: 0 at end of input
// between requests, 1 when input ended inside a request or I/O failed.
int Serve(QueueDb* db, int in_fd, int out_fd);

}  // namespace aftershock::sqlite_queue
