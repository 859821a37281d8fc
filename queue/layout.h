// Where things live under the queue root, and how names are made and read.
//
//   incoming/<name>            committed messages waiting for fan-out
//   queues/<domain>/<name>     one queue per recipient domain
//   corrupt/<dir>.<name>       complete files that failed validation
//   mail/<rcpt>/{tmp,new,cur}  maildir delivery (with --maildir)
//
// <name> is "<created_s>.<id>" or "<created_s>.<id>.<n>": the virtual time of
// the enqueue first, so that a file's age never depends on its mtime.
#ifndef REFQUEUE_LAYOUT_H_
#define REFQUEUE_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace refqueue {

class Layout {
 public:
  explicit Layout(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string Incoming() const { return root_ + "/incoming"; }
  std::string Queues() const { return root_ + "/queues"; }
  std::string Queue(std::string_view domain) const;
  std::string Corrupt() const { return root_ + "/corrupt"; }
  std::string Mailbox(std::string_view rcpt) const;

 private:
  std::string root_;
};

// True iff `rcpt` is "local@domain" with a local part of [A-Za-z0-9._+-] and a
// domain of [a-z0-9.-], neither starting with a dot.
bool IsValidRecipient(std::string_view rcpt);

// REQUIRES: IsValidRecipient(rcpt).
std::string_view DomainOf(std::string_view rcpt);

// "<created_s>.<id>" for n == 0, else "<created_s>.<id>.<n>".
std::string FileName(int64_t created_s, std::string_view id, int n);

// The creation time a file name starts with, if it has one.
std::optional<int64_t> CreatedAt(std::string_view name);

}  // namespace refqueue

#endif  // REFQUEUE_LAYOUT_H_
