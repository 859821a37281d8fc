#include "targets/sqlite/settings.h"

#include <strings.h>

namespace aftershock::sqlite_queue {
namespace {

bool EqualsIgnoringCase(std::string_view a, const char* b) {
  std::string owned(a);
  return strcasecmp(owned.c_str(), b) == 0;
}

}  // namespace

std::optional<JournalMode> ParseJournalMode(std::string_view text) {
  if (EqualsIgnoringCase(text, "delete")) return JournalMode::kDelete;
  if (EqualsIgnoringCase(text, "wal")) return JournalMode::kWal;
  return std::nullopt;
}

std::optional<Synchronous> ParseSynchronous(std::string_view text) {
  if (EqualsIgnoringCase(text, "off") || text == "0") return Synchronous::kOff;
  if (EqualsIgnoringCase(text, "normal") || text == "1") return Synchronous::kNormal;
  if (EqualsIgnoringCase(text, "full") || text == "2") return Synchronous::kFull;
  if (EqualsIgnoringCase(text, "extra") || text == "3") return Synchronous::kExtra;
  return std::nullopt;
}

const char* JournalModeName(JournalMode mode) {
  return mode == JournalMode::kWal ? "wal" : "delete";
}

const char* SynchronousName(Synchronous level) {
  switch (level) {
    case Synchronous::kOff:
      return "OFF";
    case Synchronous::kNormal:
      return "NORMAL";
    case Synchronous::kFull:
      return "FULL";
    case Synchronous::kExtra:
      return "EXTRA";
  }
  return "?";
}

}  // namespace aftershock::sqlite_queue
