#include "harness/target/message.h"

#include <xxhash.h>

#include <cstdio>

namespace aftershock {

std::string MessageBody(std::string_view id, uint64_t size) {
  std::string body;
  body.reserve(size);
  // A small LCG seeded by the id keeps bodies distinct and reproducible.
  uint64_t state = XXH64(id.data(), id.size(), 0x61667465727368ULL) | 1;
  for (uint64_t i = 0; i < size; ++i) {
    // Every line ends in '\n', the last one too: a delivery agent that
    // "repairs" a body cut mid-line would otherwise change every copy.
    if (i % kBodyLineBytes == kBodyLineBytes - 1 || i == size - 1) {
      body.push_back('\n');
      continue;
    }
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    body.push_back(static_cast<char>('a' + (state >> 33) % 26));
  }
  return body;
}

std::string ComposeMessage(std::string_view id, const std::vector<std::string>& rcpts,
                           uint64_t body_size) {
  std::string m;
  m += "Message-ID: <";
  m += id;
  m += "@aftershock.invalid>\nX-Aftershock-Id: ";
  m += id;
  m += "\nTo: ";
  for (size_t i = 0; i < rcpts.size(); ++i) {
    if (i) m += ", ";
    m += rcpts[i];
  }
  m += "\nSubject: aftershock ";
  m += id;
  m += "\n\n";
  m += MessageBody(id, body_size);
  return m;
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool HeaderIs(std::string_view line, std::string_view name, std::string_view* value) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(name[i]))) {
      return false;
    }
  }
  *value = Trim(line.substr(name.size() + 1));
  return true;
}

}  // namespace

ParsedCopy ParseCopy(std::string_view copy) {
  ParsedCopy p;
  size_t pos = 0;
  while (pos < copy.size()) {
    size_t nl = copy.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = copy.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line == "\r") {
      p.has_header_end = true;
      p.body = std::string(copy.substr(pos));
      return p;
    }
    std::string_view value;
    if (p.id.empty() && HeaderIs(line, "X-Aftershock-Id", &value)) p.id = std::string(value);
    if (p.delivered_to.empty() && HeaderIs(line, "Delivered-To", &value)) {
      p.delivered_to = std::string(value);
    }
  }
  return p;
}

std::string ShellQuote(std::string_view s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  q += "'";
  return q;
}

std::string Xxh64Hex(std::string_view bytes) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH64(bytes.data(), bytes.size(), 0)));
  return buf;
}

}  // namespace aftershock
