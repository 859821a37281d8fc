#include "targets/sqlite/queue_db.h"

#include <sstream>

namespace aftershock::sqlite_queue {
namespace {

constexpr int kBusyTimeoutMs = 10000;

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS queue ("
    " id TEXT PRIMARY KEY,"
    " rcpts TEXT NOT NULL,"
    " message BLOB NOT NULL)";

Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::Error(what + ": " + sqlite3_errmsg(db));
}

// Finalizes a statement on every path out of a function.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK && stmt_ != nullptr; }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

std::string ColumnText(sqlite3_stmt* stmt, int column) {
  const void* bytes = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  return bytes == nullptr ? std::string() : std::string(static_cast<const char*>(bytes), size);
}

}  // namespace

Status QueueDb::Open(const std::string& path, const Settings& settings, OpenFor purpose,
                     std::unique_ptr<QueueDb>* out) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (purpose == OpenFor::kWriting) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<QueueDb> db(new QueueDb(raw));
  if (rc != SQLITE_OK) {
    return Status::Error("cannot open " + path + ": " +
                         (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  Status s = db->ApplySettings(settings);
  if (!s.ok()) return s;
  if (purpose == OpenFor::kWriting) {
    s = db->Exec(kSchema);
    if (!s.ok()) return s;
  }
  *out = std::move(db);
  return Status::Ok();
}

QueueDb::~QueueDb() { sqlite3_close_v2(db_); }

Status QueueDb::ApplySettings(const Settings& settings) {
  // Every page write must reach the file through write(2), where the recorder
  // sees it; a memory-mapped database would be written behind its back.
  Status s = Exec("PRAGMA mmap_size=0");
  if (!s.ok()) return s;
  std::string mode;
  s = QueryText(std::string("PRAGMA journal_mode=") + JournalModeName(settings.journal_mode),
                &mode);
  if (!s.ok()) return s;
  if (mode != JournalModeName(settings.journal_mode)) {
    return Status::Error("journal_mode is " + mode + ", not " +
                         JournalModeName(settings.journal_mode));
  }
  s = Exec(std::string("PRAGMA synchronous=") + SynchronousName(settings.synchronous));
  if (!s.ok()) return s;
  std::string level;
  s = QueryText("PRAGMA synchronous", &level);
  if (!s.ok()) return s;
  if (level != std::to_string(static_cast<int>(settings.synchronous))) {
    return Status::Error("synchronous is " + level + ", not " +
                         SynchronousName(settings.synchronous));
  }
  return Status::Ok();
}

Status QueueDb::Exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    Status s = Status::Error(sql + ": " + (error ? error : sqlite3_errmsg(db_)));
    sqlite3_free(error);
    return s;
  }
  return Status::Ok();
}

Status QueueDb::QueryText(const std::string& sql, std::string* out) {
  Statement stmt(db_, sql);
  if (!stmt.prepared()) return SqliteError(db_, sql);
  int rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_ROW) {
    *out = ColumnText(stmt.get(), 0);
    return Status::Ok();
  }
  if (rc == SQLITE_DONE) return Status::Error(sql + ": no row");
  return SqliteError(db_, sql);
}

Status QueueDb::Insert(const std::string& id, const std::vector<std::string>& rcpts,
                       const std::string& message) {
  // IMMEDIATE takes the write lock up front, so a concurrent deliver cannot
  // make the commit fail half-way with SQLITE_BUSY.
  Status s = Exec("BEGIN IMMEDIATE");
  if (!s.ok()) return s;
  {
    Statement stmt(db_, "INSERT INTO queue(id, rcpts, message) VALUES(?1, ?2, ?3)");
    std::string joined = JoinRcpts(rcpts);
    bool inserted =
        stmt.prepared() &&
        sqlite3_bind_text(stmt.get(), 1, id.data(), static_cast<int>(id.size()),
                          SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_text(stmt.get(), 2, joined.data(), static_cast<int>(joined.size()),
                          SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_blob(stmt.get(), 3, message.data(), static_cast<int>(message.size()),
                          SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_step(stmt.get()) == SQLITE_DONE;
    if (!inserted) {
      s = SqliteError(db_, "insert " + id);
      Exec("ROLLBACK");
      return s;
    }
  }
  // The acknowledgement rests on this COMMIT: with synchronous >= FULL (and
  // NORMAL in DELETE mode) it returns only after SQLite's syncs.
  s = Exec("COMMIT");
  if (!s.ok()) Exec("ROLLBACK");
  return s;
}

Status QueueDb::Pending(std::vector<QueuedMessage>* out) {
  out->clear();
  Statement stmt(db_, "SELECT id, rcpts, message FROM queue ORDER BY rowid");
  if (!stmt.prepared()) return SqliteError(db_, "select pending");
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    out->push_back({ColumnText(stmt.get(), 0), SplitRcpts(ColumnText(stmt.get(), 1)),
                    ColumnText(stmt.get(), 2)});
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "select pending");
  return Status::Ok();
}

Status QueueDb::Remove(const std::string& id) {
  Statement stmt(db_, "DELETE FROM queue WHERE id = ?1");
  if (!stmt.prepared() ||
      sqlite3_bind_text(stmt.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT) !=
          SQLITE_OK ||
      sqlite3_step(stmt.get()) != SQLITE_DONE) {
    return SqliteError(db_, "delete " + id);
  }
  return Status::Ok();
}

Status QueueDb::IntegrityCheck() {
  Statement stmt(db_, "PRAGMA integrity_check");
  if (!stmt.prepared()) return SqliteError(db_, "integrity_check");
  std::string problems;
  int rc;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    std::string row = ColumnText(stmt.get(), 0);
    if (row == "ok") continue;
    problems += (problems.empty() ? "" : "; ") + row;
  }
  if (rc != SQLITE_DONE) return SqliteError(db_, "integrity_check");
  if (!problems.empty()) return Status::Error("integrity_check: " + problems);
  return Status::Ok();
}

std::string JoinRcpts(const std::vector<std::string>& rcpts) {
  std::string joined;
  for (const auto& r : rcpts) joined += (joined.empty() ? "" : " ") + r;
  return joined;
}

std::vector<std::string> SplitRcpts(const std::string& joined) {
  std::vector<std::string> rcpts;
  std::istringstream in(joined);
  std::string r;
  while (in >> r) rcpts.push_back(r);
  return rcpts;
}

}  // namespace aftershock::sqlite_queue
