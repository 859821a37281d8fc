// The two SQLite settings the adapter is validated under: journal_mode and
// synchronous. Each manifest in targets/sqlite-*.toml fixes one pair.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aftershock::sqlite_queue {

enum class JournalMode { kDelete, kWal };
// Values are SQLite's own numbers, as `PRAGMA synchronous` reports them.
enum class Synchronous { kOff = 0, kNormal = 1, kFull = 2, kExtra = 3 };

struct Settings {
  JournalMode journal_mode = JournalMode::kDelete;
  Synchronous synchronous = Synchronous::kFull;
};

// Case-insensitive: "delete"/"DELETE", "wal"/"WAL". Returns nullopt otherwise.
std::optional<JournalMode> ParseJournalMode(std::string_view text);
// Case-insensitive: OFF, NORMAL, FULL, EXTRA (or 0..3). Returns nullopt otherwise.
std::optional<Synchronous> ParseSynchronous(std::string_view text);

// Lower case, as `PRAGMA journal_mode` answers: "delete", "wal".
const char* JournalModeName(JournalMode mode);
// Upper case, as the pragma takes it: "OFF", "NORMAL", "FULL", "EXTRA".
const char* SynchronousName(Synchronous level);

}  // namespace aftershock::sqlite_queue
