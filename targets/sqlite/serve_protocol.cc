#include "targets/sqlite/serve_protocol.h"

#include <charconv>

namespace aftershock::sqlite_queue {
namespace {

std::vector<std::string_view> SplitWords(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

std::optional<size_t> ParseSize(std::string_view word) {
  if (word.empty() || word.size() > 19) return std::nullopt;
  for (char c : word) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  size_t value = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (ec != std::errc() || end != word.data() + word.size()) return std::nullopt;
  return value;
}

bool IsValidRcpt(std::string_view rcpt) {
  if (rcpt.empty() || rcpt.size() > 512 || rcpt.find('@') == std::string_view::npos) return false;
  for (unsigned char c : rcpt) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

ParsedLine ParseRequestLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  ParsedLine parsed;
  std::vector<std::string_view> words = SplitWords(line);
  if (words.empty()) {
    parsed.error = "empty request";
    return parsed;
  }
  if (words[0] != "enqueue") {
    parsed.error = "unknown request '" + std::string(words[0].substr(0, 32)) + "'";
    return parsed;
  }
  // Only an enqueue line names an ID to answer with.
  if (words.size() >= 2 && IsValidId(words[1])) parsed.reply_id = words[1];
  std::optional<size_t> size = ParseSize(words.back());
  if (words.size() >= 2 && size) parsed.bytes_to_skip = *size;
  if (words.size() < 4) {
    parsed.error = "expected: enqueue ID RCPT... SIZE";
    return parsed;
  }
  if (!IsValidId(words[1])) {
    parsed.error = "bad id";
    return parsed;
  }
  if (!size) {
    parsed.error = "bad size '" + std::string(words.back().substr(0, 32)) + "'";
    return parsed;
  }
  if (*size > kMaxMessageBytes) {
    parsed.error = "message larger than " + std::to_string(kMaxMessageBytes) + " bytes";
    return parsed;
  }
  EnqueueRequest request;
  request.id = words[1];
  request.size = *size;
  for (size_t i = 2; i + 1 < words.size(); ++i) {
    if (!IsValidRcpt(words[i])) {
      parsed.error = "bad recipient '" + std::string(words[i].substr(0, 64)) + "'";
      return parsed;
    }
    request.rcpts.emplace_back(words[i]);
  }
  parsed.bytes_to_skip = 0;
  parsed.request = std::move(request);
  return parsed;
}

std::string OkLine(std::string_view id) { return "ok " + std::string(id) + "\n"; }

std::string ErrLine(std::string_view id, std::string_view reason) {
  std::string line = "err " + std::string(id) + " ";
  for (char c : reason) line += (c == '\n' || c == '\r') ? ' ' : c;
  if (reason.empty()) line += "failed";
  return line + "\n";
}

}  // namespace aftershock::sqlite_queue
