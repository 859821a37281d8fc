#include "harness/explore/nested.h"

#include <filesystem>

#include "harness/explore/trace_scan.h"

namespace aftershock {

std::string RecoveryTracePath(const std::string& scratch) { return scratch + "/recover.trace"; }

bool LoadRecordedRecovery(const Manifest& manifest, const std::string& scratch,
                          RecordedRecovery* out) {
  out->run.trace_path = RecoveryTracePath(scratch);
  out->run.root = scratch + "/root";
  out->run.initial_dir = scratch + "/initial";
  if (!std::filesystem::exists(out->run.trace_path) || !out->facts.Load(out->run.trace_path).ok()) {
    return false;
  }
  ReadSinkLog(scratch + "/sink.log", &out->copies);
  // An unreadable trace shows no escape: its error is ignored.
  (void)FirstEscape(out->run.trace_path, &out->escape);
  out->gaps = UnignoredGaps(out->run.trace_path, manifest, out->run.root);
  return true;
}

CrashPoint NestedPoint(const CrashPoint& outer, const RecordedRecovery& recovery,
                       const CrashStateRef& inner) {
  CrashPoint p = outer;
  for (const SinkMark& s : recovery.facts.SinkBefore(inner.crash_seq)) {
    DeliveredCopy c;
    c.rcpts = s.rcpts;
    for (const auto& r : recovery.copies) {
      if (r.hash == s.hash) c.copy = r.copy;
    }
    c.where = "sink during the crashed recovery";
    p.before.push_back(std::move(c));
  }
  return p;
}

CrashStateRef NestedState(const CrashStateRef& outer, const CrashStateRef& inner) {
  CrashStateRef state = inner;
  state.id = outer.id + "/" + inner.id;
  state.description = "recovering " + outer.id + ": " + inner.description;
  return state;
}

}  // namespace aftershock
