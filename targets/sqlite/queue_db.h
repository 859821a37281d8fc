// The queue table in an SQLite database: one row per enqueued message, with
// its recipients. One enqueue is one transaction, so a message and all of its
// recipients are committed (acknowledged) together or not at all.
//
// Thread safety: a QueueDb is used by one thread at a time.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "targets/sqlite/settings.h"
#include "targets/sqlite/status.h"

namespace aftershock::sqlite_queue {

struct QueuedMessage {
  std::string id;
  std::vector<std::string> rcpts;
  std::string message;  // the bytes the harness submitted, exactly
};

class QueueDb {
 public:
  enum class OpenFor {
    kWriting,   // create the file and the table when missing (init, serve, enqueue)
    kRecovery,  // the file must exist; nothing is created (recover, deliver)
  };

  // Opens `path`, applies `settings` on this connection and checks that
  // SQLite reports them in effect. Reading the journal mode makes SQLite roll
  // back a hot journal or rebuild the WAL index, as any first reader would.
  static Status Open(const std::string& path, const Settings& settings, OpenFor purpose,
                     std::unique_ptr<QueueDb>* out);

  QueueDb(const QueueDb&) = delete;
  QueueDb& operator=(const QueueDb&) = delete;
  ~QueueDb();

  // One transaction: the row is durable as far as `synchronous` promises once
  // this returns Ok. Fails (nothing inserted) if `id` is already queued.
  // REQUIRES: !rcpts.empty().
  Status Insert(const std::string& id, const std::vector<std::string>& rcpts,
                const std::string& message);

  // Every queued message, oldest first.
  Status Pending(std::vector<QueuedMessage>* out);

  // One transaction removing the row of `id` (absent: Ok, nothing done).
  Status Remove(const std::string& id);

  // Ok iff `PRAGMA integrity_check` answers exactly "ok".
  Status IntegrityCheck();

  // The first column of the first row of `sql` as text (for pragmas).
  Status QueryText(const std::string& sql, std::string* out);

  sqlite3* handle() { return db_; }

 private:
  explicit QueueDb(sqlite3* db) : db_(db) {}
  Status Exec(const std::string& sql);
  Status ApplySettings(const Settings& settings);

  sqlite3* db_;
};

// Recipients are stored space-separated (they never contain spaces).
std::string JoinRcpts(const std::vector<std::string>& rcpts);
std::vector<std::string> SplitRcpts(const std::string& joined);

}  // namespace aftershock::sqlite_queue
