#include "harness/check/copy_match.h"

#include <cctype>
#include <cstdio>
#include <iterator>
#include <vector>

namespace aftershock {
namespace {

constexpr const char* kTraceFields[] = {"Return-Path",   "Received",         "Delivered-To",
                                        "X-Original-To", "Resent-Date",      "Resent-From",
                                        "Resent-Sender", "Resent-To",        "Resent-Cc",
                                        "Resent-Bcc",    "Resent-Message-ID"};

// What a submission server adds to a message that lacks them, at the end of
// its header section (RFC 6409, section 8: Postfix's cleanup(8) does for
// local submissions and for SMTP clients it rewrites headers for).
constexpr const char* kSubmissionFields[] = {"Date", "From", "Sender", "Message-ID"};

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// The field name of a header line ("" when the line is not a field).
std::string_view FieldName(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return {};
  std::string_view name = line.substr(0, colon);
  for (char c : name) {
    if (c <= ' ' || c > '~') return {};
  }
  return name;
}

bool IsOneOf(std::string_view name, const char* const* names, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (SameIgnoringCase(name, names[i])) return true;
  }
  return false;
}

// Length of the complete field (folded lines included) that starts `s` and
// that `wanted` accepts by name, or 0.
template <typename Wanted>
size_t FieldLength(std::string_view s, std::string_view* name, Wanted wanted) {
  size_t nl = s.find('\n');
  if (nl == std::string_view::npos) return 0;
  *name = FieldName(s.substr(0, nl));
  if (name->empty() || !wanted(*name)) return 0;
  size_t end = nl + 1;
  while (end < s.size() && (s[end] == ' ' || s[end] == '\t')) {
    nl = s.find('\n', end);
    if (nl == std::string_view::npos) return 0;  // a folded line cut short
    end = nl + 1;
  }
  return end;
}

// `line` quoted for a one-line report, cut after 60 bytes.
std::string Shown(std::string_view line) {
  std::string out = "\"";
  for (size_t i = 0; i < line.size() && i < 60; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c >= ' ' && c <= '~' && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (line.size() > 60) out += "...";
  return out + "\"";
}

// The line of `s` at `pos` and whether a '\n' ends it; advances *pos.
std::string_view NextLine(std::string_view s, size_t* pos, bool* ended) {
  size_t nl = s.find('\n', *pos);
  *ended = nl != std::string_view::npos;
  size_t end = *ended ? nl : s.size();
  std::string_view line = s.substr(*pos, end - *pos);
  *pos = *ended ? end + 1 : end;
  return line;
}

std::string FirstDifference(std::string_view copy, std::string_view message) {
  size_t cp = 0, mp = 0;
  for (int line_no = 1;; ++line_no) {
    std::string prefix = "line " + std::to_string(line_no) + ": ";
    if (cp >= copy.size() && mp >= message.size()) return prefix + "no difference";
    if (cp >= copy.size()) return prefix + "copy ends, expected " + Shown(message.substr(mp, 80));
    bool copy_nl = false, msg_nl = false;
    std::string_view got = NextLine(copy, &cp, &copy_nl);
    if (mp >= message.size()) return prefix + "got " + Shown(got) + ", expected end of message";
    std::string_view want = NextLine(message, &mp, &msg_nl);
    if (got == want && copy_nl == msg_nl) continue;
    std::string what = prefix + "got " + Shown(got);
    if (!copy_nl) what += " (no newline)";
    what += ", expected " + Shown(want);
    if (!msg_nl) what += " (no newline)";
    return what;
  }
}

// Whether the header section `headers` (lines ending in '\n') has a field
// named `name`.
bool HasField(std::string_view headers, std::string_view name) {
  size_t pos = 0;
  while (pos < headers.size()) {
    bool ended = false;
    if (SameIgnoringCase(FieldName(NextLine(headers, &pos, &ended)), name)) return true;
  }
  return false;
}

// Length of the complete trace field that starts `s`, or 0.
size_t TraceFieldLength(std::string_view s, std::string_view* name) {
  return FieldLength(s, name, [](std::string_view n) { return IsTraceFieldName(n); });
}

// Length of the complete field that starts `s` if it is a submission field
// the message's `headers` lack; else 0.
size_t AddedFieldLength(std::string_view s, std::string_view headers, std::string_view* name) {
  return FieldLength(s, name, [&](std::string_view n) {
    return IsOneOf(n, kSubmissionFields, std::size(kSubmissionFields)) && !HasField(headers, n);
  });
}

// `copy` is `message` with submission fields added after its own header
// fields: records them in m->normalized and returns true.
bool WithSubmissionFields(std::string_view copy, std::string_view message, CopyMatch* m) {
  size_t blank = message.find("\n\n");
  if (blank == std::string_view::npos) return false;
  std::string_view headers = message.substr(0, blank + 1);
  if (copy.substr(0, headers.size()) != headers) return false;
  copy.remove_prefix(headers.size());
  std::vector<std::string> added;
  std::string_view name;
  while (size_t n = AddedFieldLength(copy, headers, &name)) {
    added.push_back("added header " + std::string(name));
    copy.remove_prefix(n);
  }
  if (added.empty() || copy != message.substr(headers.size())) return false;
  m->normalized.insert(m->normalized.end(), added.begin(), added.end());
  return true;
}

}  // namespace

bool IsTraceFieldName(std::string_view name) {
  return IsOneOf(name, kTraceFields, std::size(kTraceFields));
}

CopyMatch MatchCopy(std::string_view copy, std::string_view message) {
  CopyMatch m;
  std::string_view name;
  while (size_t n = TraceFieldLength(copy, &name)) {
    std::string note = "trace header " + std::string(name);
    bool seen = false;
    for (const auto& s : m.normalized) seen |= SameIgnoringCase(s, note);
    if (!seen) m.normalized.push_back(note);
    copy.remove_prefix(n);
  }
  m.intact = copy == message || WithSubmissionFields(copy, message, &m);
  if (!m.intact) m.difference = FirstDifference(copy, message);
  return m;
}

}  // namespace aftershock
