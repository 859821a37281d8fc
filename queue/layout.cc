#include "layout.h"

namespace refqueue {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsValidPart(std::string_view part, bool domain) {
  if (part.empty() || part.size() > 128 || part[0] == '.') return false;
  for (char c : part) {
    bool ok = domain ? ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
                     : (IsAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string Layout::Queue(std::string_view domain) const {
  return Queues() + "/" + std::string(domain);
}

std::string Layout::Mailbox(std::string_view rcpt) const {
  return root_ + "/mail/" + std::string(rcpt);
}

bool IsValidRecipient(std::string_view rcpt) {
  size_t at = rcpt.find('@');
  if (at == std::string_view::npos) return false;
  return IsValidPart(rcpt.substr(0, at), false) && IsValidPart(rcpt.substr(at + 1), true);
}

std::string_view DomainOf(std::string_view rcpt) { return rcpt.substr(rcpt.find('@') + 1); }

std::string FileName(int64_t created_s, std::string_view id, int n) {
  std::string name = std::to_string(created_s) + "." + std::string(id);
  if (n > 0) name += "." + std::to_string(n);
  return name;
}

std::optional<int64_t> CreatedAt(std::string_view name) {
  size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : name.substr(0, dot)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace refqueue
