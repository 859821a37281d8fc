#include "harness/target/mailbox.h"

#include <string_view>

namespace aftershock {
namespace {

bool StartsWith(std::string_view s, size_t pos, std::string_view prefix) {
  return s.compare(pos, prefix.size(), prefix) == 0;
}

// Offsets of the From_ lines: at the start, or right after an empty line.
std::vector<size_t> FromLines(std::string_view mbox) {
  std::vector<size_t> starts;
  if (StartsWith(mbox, 0, "From ")) starts.push_back(0);
  for (size_t pos = mbox.find("\n\nFrom "); pos != std::string_view::npos;
       pos = mbox.find("\n\nFrom ", pos + 1)) {
    starts.push_back(pos + 2);
  }
  // The last From_ line may be cut short before its "From " is complete.
  constexpr std::string_view kFrom = "From ";
  for (size_t n = 1; n < kFrom.size() && n <= mbox.size(); ++n) {
    size_t at = mbox.size() - n;
    bool line_start = at == 0 || (at >= 2 && mbox.substr(at - 2, 2) == "\n\n");
    if (line_start && mbox.substr(at) == kFrom.substr(0, n)) starts.push_back(at);
  }
  return starts;
}

// `text` with one '>' taken off every line of the form ">+From ".
std::string Unquote(std::string_view text, int64_t* unquoted) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(pos, end - pos);
    size_t quotes = line.find_first_not_of('>');
    if (quotes != 0 && quotes != std::string_view::npos && StartsWith(line, quotes, "From ")) {
      line.remove_prefix(1);
      ++*unquoted;
    }
    out += line;
    pos = end;
  }
  return out;
}

// The message whose From_ line opens `chunk`; `last`: no From_ line follows.
MboxMessage ReadMessage(std::string_view chunk, size_t offset, bool last) {
  MboxMessage m;
  m.offset = offset;
  size_t nl = chunk.find('\n');
  m.from_line = std::string(chunk.substr(0, nl));
  chunk.remove_prefix(nl == std::string_view::npos ? chunk.size() : nl + 1);
  // The separating empty line belongs to the mailbox, not the message. Only
  // a last message may lack it (cut short, or the mbox's end).
  bool separated = chunk.size() >= 2 && chunk.substr(chunk.size() - 2) == "\n\n";
  if (!last || separated) chunk.remove_suffix(1);
  m.terminated = !last || separated;
  m.bytes = Unquote(chunk, &m.unquoted);
  return m;
}

}  // namespace

std::vector<MboxMessage> SplitMbox(std::string_view mbox) {
  std::vector<MboxMessage> out;
  std::vector<size_t> starts = FromLines(mbox);
  size_t first = starts.empty() ? mbox.size() : starts[0];
  if (first > 0) {
    // Not an mbox message: give the checker its bytes as they are.
    MboxMessage junk;
    junk.bytes = std::string(mbox.substr(0, first));
    junk.terminated = !starts.empty();
    out.push_back(std::move(junk));
  }
  for (size_t i = 0; i < starts.size(); ++i) {
    bool last = i + 1 == starts.size();
    size_t end = last ? mbox.size() : starts[i + 1];
    out.push_back(ReadMessage(mbox.substr(starts[i], end - starts[i]), starts[i], last));
  }
  return out;
}

std::vector<std::string> MboxNormalizations(const MboxMessage& m) {
  std::vector<std::string> notes;
  if (!m.from_line.empty()) notes.push_back("mbox From_ line");
  if (m.unquoted > 0) notes.push_back("mbox >From unquoted");
  return notes;
}

}  // namespace aftershock
