// Reading mailboxes that live in the crash domain: the messages of an mbox
// file (docs/target-contract.md, "Delivery").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aftershock {

// One message of an mbox file.
struct MboxMessage {
  size_t offset = 0;      // of its From_ line (of the message when it has none)
  std::string from_line;  // "From sender date", without '\n'; "" for bytes before the first one
  // The message as delivered: From_ line and the blank line that separates
  // it from the next one taken off, ">From " lines unquoted.
  std::string bytes;
  int64_t unquoted = 0;  // lines whose quoting '>' was taken off
  // False for the file's last message when the empty line that ends every
  // mbox message is missing: an append that may have been cut short.
  bool terminated = true;
};

// Splits an mbox file (RFC 4155): a message starts at a line beginning with
// "From " that opens the file or follows an empty line; it ends with the
// empty line before the next one (a last message without that line, torn
// or not, keeps all of its bytes). A line of one or more '>' followed by
// "From " loses one '>' (the mboxrd reading; exact for mboxo writers too
// unless a message holds a line starting ">From ", which the harness's never
// do). No Content-Length is needed or read. Bytes before the first From_
// line (a torn or zeroed file) come back as a message without a From_ line;
// a file that ends in a From_ line cut short ("Fro") ends in an empty,
// unterminated message.
std::vector<MboxMessage> SplitMbox(std::string_view mbox);

// What reading `m` took off, as the checker reports it: "mbox From_ line",
// "mbox >From unquoted".
std::vector<std::string> MboxNormalizations(const MboxMessage& m);

}  // namespace aftershock
