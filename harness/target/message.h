// Messages as the harness writes them (docs/target-contract.md, "Messages"),
// and the reading of a delivered copy back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace aftershock {

// A message the workload submitted: what every delivered copy is compared to.
struct Submitted {
  std::string id;
  std::vector<std::string> rcpts;
  uint64_t body_size = 0;
};

// Length of a full body line, its '\n' included (RFC 5322 allows 998 octets).
inline constexpr uint64_t kBodyLineBytes = 64;

// Deterministic printable text of exactly `size` bytes, different for every
// id (so a body swapped between messages is caught): lines of lowercase
// letters, each ended by '\n', 63 letters each but the last, which is
// shorter (possibly empty) when `size` is not a multiple of 64. So the body
// is whole lines and no line starts with "From ".
std::string MessageBody(std::string_view id, uint64_t size);

// The whole message: the contract's header block, a blank line, the body.
std::string ComposeMessage(std::string_view id, const std::vector<std::string>& rcpts,
                           uint64_t body_size);

// What a delivered copy says about itself.
struct ParsedCopy {
  bool has_header_end = false;  // a blank line ends the header block
  std::string id;               // X-Aftershock-Id, "" when missing
  std::string delivered_to;     // Delivered-To, "" when missing
  std::string body;             // everything after the first blank line
};
ParsedCopy ParseCopy(std::string_view copy);

// `s` quoted for /bin/sh (single quotes; safe for any byte but NUL).
std::string ShellQuote(std::string_view s);

// xxh64 (seed 0) of `bytes` as 16 lowercase hex digits.
std::string Xxh64Hex(std::string_view bytes);

}  // namespace aftershock
