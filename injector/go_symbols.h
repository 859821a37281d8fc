// Go's function names, for the frames a finding blames: the functions of
// Go's runtime and standard library are to a Go program what libc is to a
// C one. Used by the ptrace recorder (its call site) and by the harness
// (harness/explore/culprit_frame.cc).
#pragma once

#include <string>

namespace aftershock::inject {

// True iff `name` (a Go symbol: "os.Rename", "internal/poll.(*FD).Write",
// "github.com/x/y.F") is a function of Go's runtime or standard library:
// the first element of its package path has no dot (the rule Go reserves
// such paths by), and the package is not main.
inline bool IsGoStandardFunction(const std::string& name) {
  size_t slash = name.find('/');
  size_t dot = name.find('.');
  if (dot == std::string::npos) return false;
  std::string first = name.substr(0, slash != std::string::npos && slash < dot ? slash : dot);
  return first != "main" && first.find('.') == std::string::npos;
}

}  // namespace aftershock::inject
