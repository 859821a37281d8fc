#include "targets/sqlite/serve.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "targets/sqlite/serve_protocol.h"

namespace aftershock::sqlite_queue {
namespace {

// The answer goes out in one write(2): the acknowledgement is a single event
// and a reader never sees half a line.
bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

bool InputReader::Fill() {
  if (begin_ > 0) {
    memmove(buffer_, buffer_ + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  for (;;) {
    ssize_t n = read(fd_, buffer_ + end_, sizeof(buffer_) - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error_ = true;
    if (n <= 0) return false;
    end_ += static_cast<size_t>(n);
    return true;
  }
}

InputReader::Result InputReader::ReadLine(std::string* line, size_t max_bytes) {
  line->clear();
  bool too_long = false;
  for (;;) {
    const char* start = buffer_ + begin_;
    const char* newline = static_cast<const char*>(memchr(start, '\n', end_ - begin_));
    size_t take = newline ? static_cast<size_t>(newline - start) : end_ - begin_;
    if (!too_long) {
      line->append(start, take);
      if (line->size() > max_bytes) {
        too_long = true;
        line->clear();
      }
    }
    begin_ += take;
    if (newline) {
      ++begin_;
      return too_long ? Result::kTooLong : Result::kLine;
    }
    begin_ = end_ = 0;  // everything buffered was taken
    if (!Fill()) {
      if (error_) return Result::kError;
      if (too_long) return Result::kTooLong;
      return line->empty() ? Result::kEof : Result::kLine;
    }
  }
}

bool InputReader::ReadExactly(size_t n, std::string* out) {
  if (out) out->clear();
  while (n > 0) {
    if (begin_ == end_ && !Fill()) return false;
    size_t take = std::min(n, end_ - begin_);
    if (out) out->append(buffer_ + begin_, take);
    begin_ += take;
    n -= take;
  }
  return true;
}

int Serve(QueueDb* db, int in_fd, int out_fd) {
  InputReader reader(in_fd);
  std::string line;
  std::string message;
  for (;;) {
    InputReader::Result r = reader.ReadLine(&line, kMaxRequestLineBytes);
    if (r == InputReader::Result::kEof) return 0;
    if (r == InputReader::Result::kError) {
      fprintf(stderr, "aftershock-sqlite-queue: read: %s\n", strerror(errno));
      return 1;
    }
    if (r == InputReader::Result::kTooLong) {
      if (!WriteAll(out_fd, ErrLine("-", "request line too long"))) return 1;
      continue;
    }
    ParsedLine parsed = ParseRequestLine(line);
    if (!parsed.request) {
      // Stay in step: drop the message bytes a malformed request announced.
      bool in_step = reader.ReadExactly(parsed.bytes_to_skip, nullptr);
      if (!WriteAll(out_fd, ErrLine(parsed.reply_id, parsed.error))) return 1;
      if (!in_step) return 1;
      continue;
    }
    const EnqueueRequest& request = *parsed.request;
    if (!reader.ReadExactly(request.size, &message)) {
      WriteAll(out_fd, ErrLine(request.id, "input ended inside the message"));
      return 1;
    }
    Status s = db->Insert(request.id, request.rcpts, message);
    // Nothing touches the database between COMMIT and this write: the
    // acknowledgement is exactly the committed state.
    if (!WriteAll(out_fd, s.ok() ? OkLine(request.id) : ErrLine(request.id, s.message()))) {
      fprintf(stderr, "aftershock-sqlite-queue: write answer: %s\n", strerror(errno));
      return 1;
    }
  }
}

}  // namespace aftershock::sqlite_queue
