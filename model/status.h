// Errors as values for the model (LevelDB's Status, reduced to what we need).
#pragma once

#include <string>
#include <utility>

namespace aftershock {

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return message_.empty(); }
  // Empty iff ok(); otherwise names what failed ("rename /r/a -> /r/b: /r/a does not exist").
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {
    if (message_.empty()) message_ = "error";
  }
  std::string message_;
};

}  // namespace aftershock
