// aftershock-sqlite-queue: a mail queue kept in one SQLite table, so that
// aftershock can validate SQLite's own durability promises (issue 6).
//
//   init | serve | enqueue ID RCPT... | deliver | recover   [--db FILE]
//   [--journal-mode DELETE|WAL] [--synchronous OFF|NORMAL|FULL|EXTRA] [--sink PROGRAM]
//
// Exit status: 0 done, 1 failed, 2 bad usage.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "targets/sqlite/queue_db.h"
#include "targets/sqlite/serve.h"
#include "targets/sqlite/serve_protocol.h"
#include "targets/sqlite/settings.h"
#include "targets/sqlite/sink.h"

namespace aftershock::sqlite_queue {
namespace {

constexpr char kProgram[] = "aftershock-sqlite-queue";

struct Options {
  std::string db = "queue.db";
  std::string journal_mode = "DELETE";
  std::string synchronous = "FULL";
  std::string sink;
  std::string id;
  std::vector<std::string> rcpts;
};

int Fail(const Status& s) {
  fprintf(stderr, "%s: %s\n", kProgram, s.message().c_str());
  return 1;
}

int Open(const Options& o, QueueDb::OpenFor purpose, std::unique_ptr<QueueDb>* db) {
  std::optional<JournalMode> mode = ParseJournalMode(o.journal_mode);
  std::optional<Synchronous> level = ParseSynchronous(o.synchronous);
  if (!mode || !level) {
    fprintf(stderr, "%s: bad --journal-mode or --synchronous\n", kProgram);
    return 2;
  }
  Status s = QueueDb::Open(o.db, {*mode, *level}, purpose, db);
  if (!s.ok()) return Fail(s);
  // One line for the run log: the settings SQLite reports in effect.
  fprintf(stderr, "%s: %s journal_mode=%s synchronous=%s\n", kProgram, o.db.c_str(),
          JournalModeName(*mode), SynchronousName(*level));
  return 0;
}

int Serve(const Options& o) {
  // A vanished reader must show up as a failed write, not kill the daemon
  // between COMMIT and its answer.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<QueueDb> db;
  if (int rc = Open(o, QueueDb::OpenFor::kWriting, &db)) return rc;
  return sqlite_queue::Serve(db.get(), STDIN_FILENO, STDOUT_FILENO);
}

int Enqueue(const Options& o) {
  if (!IsValidId(o.id)) {
    fprintf(stderr, "%s: bad id '%s'\n", kProgram, o.id.c_str());
    return 2;
  }
  std::string message(std::istreambuf_iterator<char>(std::cin), {});
  if (std::cin.bad()) return Fail(Status::Error("cannot read the message on stdin"));
  std::unique_ptr<QueueDb> db;
  if (int rc = Open(o, QueueDb::OpenFor::kWriting, &db)) return rc;
  Status s = db->Insert(o.id, o.rcpts, message);
  return s.ok() ? 0 : Fail(s);
}

int Deliver(const Options& o) {
  signal(SIGPIPE, SIG_IGN);
  if (o.sink.empty()) {
    fprintf(stderr, "%s: no sink: set --sink or AFTERSHOCK_SINK\n", kProgram);
    return 2;
  }
  std::unique_ptr<QueueDb> db;
  if (int rc = Open(o, QueueDb::OpenFor::kRecovery, &db)) return rc;
  std::vector<QueuedMessage> pending;
  Status s = db->Pending(&pending);
  if (!s.ok()) return Fail(s);
  int failed = 0;
  for (const QueuedMessage& m : pending) {
    s = RunSink(o.sink, m.rcpts, m.message);
    if (!s.ok()) {
      // The row stays queued for the next run; a crash between acceptance and
      // the delete below delivers the copy twice, which the contract allows.
      fprintf(stderr, "%s: %s deferred: %s\n", kProgram, m.id.c_str(), s.message().c_str());
      ++failed;
      continue;
    }
    s = db->Remove(m.id);
    if (!s.ok()) return Fail(s);
  }
  return failed == 0 ? 0 : 1;
}

int Recover(const Options& o) {
  std::unique_ptr<QueueDb> db;
  // Opening reads the database: a hot journal is rolled back, a WAL's valid
  // frames are taken up and the -shm index is rebuilt from them.
  if (int rc = Open(o, QueueDb::OpenFor::kRecovery, &db)) return rc;
  Status s = db->IntegrityCheck();
  return s.ok() ? 0 : Fail(s);
}

int Init(const Options& o) {
  std::unique_ptr<QueueDb> db;
  return Open(o, QueueDb::OpenFor::kWriting, &db);
}

}  // namespace
}  // namespace aftershock::sqlite_queue

int main(int argc, char** argv) {
  using namespace aftershock::sqlite_queue;
  Options o;
  CLI::App app{"A mail queue kept in an SQLite table; an aftershock target (docs/daemon-mode.md)."};
  app.require_subcommand(1);
  app.add_option("--db", o.db, "database file (relative to the working directory)")
      ->envname("AFTERSHOCK_SQLITE_DB");
  app.add_option("--journal-mode", o.journal_mode, "DELETE or WAL")
      ->envname("AFTERSHOCK_SQLITE_JOURNAL_MODE");
  app.add_option("--synchronous", o.synchronous, "OFF, NORMAL, FULL or EXTRA")
      ->envname("AFTERSHOCK_SQLITE_SYNCHRONOUS");
  app.add_option("--sink", o.sink, "delivery sink program")->envname("AFTERSHOCK_SINK");
  auto* init = app.add_subcommand("init", "create the database and the queue table");
  auto* serve = app.add_subcommand("serve", "daemon mode: requests on stdin, answers on stdout");
  auto* enqueue = app.add_subcommand("enqueue", "exit mode: queue the message on stdin");
  enqueue->add_option("id", o.id, "message id")->required();
  enqueue->add_option("rcpts", o.rcpts, "recipients")->required();
  auto* deliver = app.add_subcommand("deliver", "hand every queued message to the sink");
  auto* recover = app.add_subcommand("recover", "open the database and check its integrity");
  // Global options may follow the subcommand, as manifests write them.
  for (CLI::App* sub : {init, serve, enqueue, deliver, recover}) sub->fallthrough();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (*init) return Init(o);
  if (*serve) return Serve(o);
  if (*enqueue) return Enqueue(o);
  if (*deliver) return Deliver(o);
  if (*recover) return Recover(o);
  return 2;
}
