// Errors as values for the reference queue. A Status carries a message that
// already names the path and the failed call ("fsync incoming/12.m1: EIO").
#ifndef REFQUEUE_STATUS_H_
#define REFQUEUE_STATUS_H_

#include <string>
#include <utility>

namespace refqueue {

class [[nodiscard]] Status {
 public:
  static Status Ok() { return Status(); }
  // An operating-system call failed; `err` is the errno it left.
  static Status IoError(const std::string& context, int err);
  // Input or state that the queue refuses (bad recipient, invalid file).
  static Status Invalid(const std::string& message) { return Status(kInvalid, message); }

  bool ok() const { return code_ == kOk; }
  bool IsInvalid() const { return code_ == kInvalid; }
  // REQUIRES: !ok().
  const std::string& message() const { return message_; }

 private:
  enum Code { kOk, kIoError, kInvalid };
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = kOk;
  std::string message_;
};

// Returns early from the enclosing function when `expr` is not ok.
#define REFQUEUE_RETURN_IF_ERROR(expr)   \
  do {                                   \
    ::refqueue::Status status_ = (expr); \
    if (!status_.ok()) return status_;   \
  } while (0)

}  // namespace refqueue

#endif  // REFQUEUE_STATUS_H_
