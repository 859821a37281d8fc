// How a delivered copy compares with the message the harness sent
// (docs/target-contract.md, "Messages"): byte for byte, after what RFC 5321
// and RFC 5322 let a delivery add in front of it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aftershock {

// Header fields a delivery may prepend (RFC 5321 4.4, RFC 5322 3.6.6 and
// 3.6.7, and the de-facto Delivered-To / X-Original-To of Postfix, qmail,
// procmail and Dovecot). Returns true iff `name` is one (case-insensitive).
bool IsTraceFieldName(std::string_view name);

struct CopyMatch {
  // The copy is the message's bytes exactly, once the `normalized` additions
  // are taken off.
  bool intact = false;
  // What delivery added, in order, one entry per kind: "trace header
  // Return-Path". Empty: the copy is the message as sent.
  std::vector<std::string> normalized;
  // When !intact: the first differing line, as "line N: got "...", expected
  // "..."" (N counts the message's lines from 1; bytes outside printable
  // ASCII are shown as \xNN).
  std::string difference;
};

// Compares `copy` with `message`: the copy may start with complete trace
// header fields (each line ended by '\n', folded lines included) before the
// message's first header; everything after them must be `message` exactly.
CopyMatch MatchCopy(std::string_view copy, std::string_view message);

}  // namespace aftershock
