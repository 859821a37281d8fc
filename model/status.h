// Errors as values (LevelDB's Status, reduced to what we need): the one
// Status of the model, the injector's library code, the harness and the
// reports. (The reference queue and the SQLite adapter are programs of their
// own and keep theirs.) [[nodiscard]]: a Status nobody looks at is a bug.
#pragma once

#include <string>
#include <utility>

namespace aftershock {

class [[nodiscard]] Status {
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
