// Errors as values for the SQLite queue adapter.
#pragma once

#include <string>
#include <utility>

namespace aftershock::sqlite_queue {

class Status {
 public:
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !failed_; }
  // A one-line description; empty iff ok().
  const std::string& message() const { return message_; }

 private:
  Status() = default;
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}

  bool failed_ = false;
  std::string message_;
};

}  // namespace aftershock::sqlite_queue
