// The baseline stage: before any crash is explored, the workload must hold
// without one. A target whose enqueue never acknowledges, hangs or crashes,
// or whose delivery loses mail with no crash at all, is broken (or its
// manifest is), not crash-unsafe: exploring it would prove nothing, and
// "no violation" would be a silent pass.
#pragma once

#include <string>

#include "harness/explore/pipeline.h"

namespace aftershock {

// How many lines of a command's output a message shows.
inline constexpr size_t kOutputLinesShown = 20;

// The last `lines` lines of `output`.
std::string LastLines(const std::string& output, size_t lines = kOutputLinesShown);

// "  its output (last 20 lines; all of it in LOG):\n    ...\n", or a line
// saying it wrote nothing. `log` may be "" (no copy kept).
std::string OutputSection(const std::string& output, const std::string& log);

struct BaselineFailure {
  std::string what;     // "step 1 (enqueue m1)", "recovery of the state the run left"
  std::string command;  // the manifest's command line
  std::string problem;  // "exited 127: the message was not acknowledged"
  std::string output;   // the end of the command's stdout and stderr
  bool failed() const { return !problem.empty(); }
};

// Checks the sequential recording `rec`: every command without an armed
// fault ended by itself (no timeout, no signal), every enqueue without an
// armed fault was acknowledged, at least one message was, and (when the
// scenario arms no fault and expects no violation) the state the run left, recovered and drained in
// `scratch`, delivers every acknowledged message intact. Sets *failure when
// the baseline does not hold. An error only when the harness failed.
Status CheckBaseline(const PipelineContext& ctx, const PlannedRecording& rec,
                     const std::string& scratch, BaselineFailure* failure);

// The failure as every output shows it; `log` is where the command's whole
// output was kept ("" when it was not).
std::string DescribeBaselineFailure(const BaselineFailure& f, const std::string& log);

}  // namespace aftershock
