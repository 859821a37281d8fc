// `aftershock trace show FILE`: prints a trace the way strace prints calls.
#include <cstdio>

#include "harness/cli/command.h"
#include "model/trace.h"

namespace aftershock {
namespace {

struct ShowArgs {
  std::string file;
  bool sites = false;
};

std::string Hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

int RunShow(const ShowArgs& a) {
  TraceError error;
  std::optional<Trace> t = ReadTrace(a.file, &error);
  if (!t) {
    std::fprintf(stderr, "aftershock trace show: %s\n", error.message.c_str());
    return 2;
  }
  size_t gaps = 0, escapes = 0, injected = 0;
  for (const Op& op : t->ops) {
    std::string line = FormatOp(op);
    if (op.kind == OpKind::kGap) ++gaps;
    if (op.Has(trace::kFlagEscape)) ++escapes;
    if (op.Has(trace::kFlagInjected)) ++injected;
    if (a.sites && !op.module.empty()) {
      line += "  @ " + op.module + "+" + Hex(op.call_offset);
      for (const StackFrame& f : op.callers) {
        line += " < " + (f.module == op.module ? std::string() : f.module) + "+" + Hex(f.offset);
      }
      if (!op.callers.empty()) {
        line +=
            op.stack_method == trace::kStackFramePointers ? "  (frame pointers)" : "  (stack scan)";
      }
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("-- %zu records, %zu gaps, %zu escapes, %zu injected faults\n", t->ops.size(), gaps,
              escapes, injected);
  return 0;
}

void SetupTrace(CLI::App& app, int* exit_status) {
  CLI::App* trace = app.add_subcommand("trace", "Inspect traces written by `aftershock record`.");
  trace->require_subcommand(1);
  auto args = std::make_shared<ShowArgs>();
  CLI::App* show = trace->add_subcommand(
      "show",
      "Print a trace like strace: seq, pid, call, arguments, result; gaps (what the recorder\n"
      "could not model) and escapes (mutations outside the root) are marked. Exit status 2 on a\n"
      "malformed trace, naming the file and byte offset.");
  show->add_option("file", args->file, "the trace file")->required();
  show->add_flag("--sites", args->sites, "also print each call's site (module+offset)");
  show->callback([args, exit_status] { *exit_status = RunShow(*args); });
}

const bool kRegistered = RegisterCommand({"trace", 11, SetupTrace});

}  // namespace
}  // namespace aftershock
