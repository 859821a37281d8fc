#include "cli.h"

#include <unistd.h>
#include <xxhash.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "fs.h"
#include "refqueue.h"

namespace refqueue {
namespace {

struct Flags {
  std::string root;
  std::string now;
  std::string bugs;
  std::string fanout = "workfile";
  int64_t stale_after_s = 3600;
  std::string sink;
  bool maildir = false;
  bool verbose = false;
  std::string queues = "local,remote";
  std::string id;
  std::vector<std::string> rcpts;
};

std::string BugFooter() {
  std::string text = "Bug variants (--bug NAME[,NAME...] or REFQUEUE_BUG):\n";
  for (const BugInfo& info : AllBugs()) {
    text += "  " + std::string(info.name);
    text.append(info.name.size() < 31 ? 31 - info.name.size() : 1, ' ');
    text += std::string(info.breaks) + "\n";
  }
  return text;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

// Splits AFTERSHOCK_RCPTS ("shell-quoted, space-separated") into words: single
// and double quotes and backslashes as sh reads them, no expansions.
bool SplitShellWords(std::string_view text, std::vector<std::string>* words) {
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words->push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') {
      size_t close = text.find(c, i + 1);
      if (close == std::string_view::npos) return false;
      word.append(text.substr(i + 1, close - i - 1));
      i = close;
    } else if (c == '\\' && i + 1 < text.size()) {
      word.push_back(text[++i]);
    } else {
      word.push_back(c);
    }
  }
  if (in_word) words->push_back(word);
  return true;
}

// Turns the parsed flags into Options; false (with a message) on bad usage.
bool MakeOptions(const Flags& flags, Options* options, std::string* error) {
  options->root = flags.root.empty() ? std::filesystem::current_path().string() : flags.root;
  if (flags.now.empty()) {
    // Only outside the harness, which always sets the virtual clock.
    options->now_s = static_cast<int64_t>(std::time(nullptr));
  } else {
    char* end = nullptr;
    long long now = std::strtoll(flags.now.c_str(), &end, 10);
    if (*end != '\0' || now < 0) {
      *error = "--now/AFTERSHOCK_NOW must be seconds since the epoch, not '" + flags.now + "'";
      return false;
    }
    options->now_s = now;
  }
  if (flags.fanout == "workfile") {
    options->fanout = Fanout::kWorkfile;
  } else if (flags.fanout == "hardlink") {
    options->fanout = Fanout::kHardlink;
  } else {
    *error = "--fanout must be workfile or hardlink, not '" + flags.fanout + "'";
    return false;
  }
  Status status = BugSet::Parse(flags.bugs, &options->bugs);
  if (!status.ok()) {
    *error = status.message();
    return false;
  }
  options->stale_after_s = flags.stale_after_s;
  options->sink = flags.sink;
  options->maildir = flags.maildir;
  return true;
}

int Report(const Status& status, const char* command) {
  if (status.ok()) return kExitOk;
  std::fprintf(stderr, "refqueue %s: %s\n", command, status.message().c_str());
  return status.IsInvalid() ? kExitUsage : kExitError;
}

int RunEnqueue(const Options& options, const Flags& flags) {
  std::string content;
  Status status = ReadFd(STDIN_FILENO, "stdin", &content);
  if (!status.ok()) return Report(status, "enqueue");
  std::string id = flags.id;
  if (id.empty()) {
    // Deterministic: the same message gets the same id on every run.
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(XXH64(content.data(), content.size(), 0)));
    id = hex;
  }
  std::vector<std::string> rcpts = flags.rcpts;
  const char* from_env = std::getenv("AFTERSHOCK_RCPTS");
  if (rcpts.empty() && from_env != nullptr && !SplitShellWords(from_env, &rcpts)) {
    std::fprintf(stderr, "refqueue enqueue: unbalanced quotes in AFTERSHOCK_RCPTS\n");
    return kExitUsage;
  }
  std::string name;
  status = Enqueue(options, id, rcpts, content, &name);
  if (status.ok() && flags.verbose) std::fprintf(stderr, "refqueue enqueue: %s\n", name.c_str());
  return Report(status, "enqueue");
}

}  // namespace

int RunCli(int argc, char** argv) {
  Flags flags;
  CLI::App app("refqueue: the reference mail queue of aftershock (Postfix's principles)",
               "refqueue");
  app.footer(BugFooter());
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--root", flags.root, "queue root (default $AFTERSHOCK_ROOT, else the cwd)")
      ->envname("AFTERSHOCK_ROOT");
  app.add_option("--now", flags.now, "virtual clock, seconds since the epoch")
      ->envname("AFTERSHOCK_NOW");
  app.add_option("--bug", flags.bugs, "bug variants to enable, comma-separated")
      ->envname("REFQUEUE_BUG");
  app.add_option("--fanout", flags.fanout, "workfile (copies) or hardlink (links)")
      ->envname("REFQUEUE_FANOUT");
  app.add_option("--stale-after", flags.stale_after_s,
                 "seconds after which an incomplete file is removed by recover")
      ->envname("REFQUEUE_STALE_AFTER")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--sink", flags.sink, "delivery program, run as SINK RCPT... < message")
      ->envname("AFTERSHOCK_SINK");
  app.add_flag("--maildir", flags.maildir, "deliver into ROOT/mail/<rcpt>/{tmp,new,cur}")
      ->envname("REFQUEUE_MAILDIR");
  app.add_flag("-v,--verbose", flags.verbose, "say what was done on stderr");

  CLI::App* init = app.add_subcommand("init", "create the queue directories");
  init->add_option("--queues", flags.queues, "queues to create, comma-separated (domains)");
  CLI::App* enqueue = app.add_subcommand("enqueue", "queue the message on stdin; exit 0 = durable");
  enqueue->add_option("--id", flags.id, "message id (default $AFTERSHOCK_ID, else a hash)")
      ->envname("AFTERSHOCK_ID");
  enqueue->add_option("rcpts", flags.rcpts, "recipients, user@domain (default $AFTERSHOCK_RCPTS)");
  app.add_subcommand("deliver", "one queue run: fan out, then deliver every pending copy");
  app.add_subcommand("recover", "roll forward, remove stale and leftover files; idempotent");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "refqueue: %s\nRun 'refqueue --help' for usage.\n", e.what());
    return kExitUsage;
  }
  Options options;
  std::string error;
  if (!MakeOptions(flags, &options, &error)) {
    std::fprintf(stderr, "refqueue: %s\n", error.c_str());
    return kExitUsage;
  }
  if (init->parsed()) return Report(Init(options, SplitCommas(flags.queues)), "init");
  if (enqueue->parsed()) return RunEnqueue(options, flags);
  if (app.got_subcommand("deliver")) {
    DeliverStats stats;
    Status status = Deliver(options, &stats);
    if (flags.verbose) {
      std::fprintf(stderr,
                   "refqueue deliver: %d fanned out, %d delivered, %d deferred, %d "
                   "quarantined, %d removed\n",
                   stats.fanned_out, stats.delivered, stats.deferred, stats.quarantined,
                   stats.removed);
    }
    return Report(status, "deliver");
  }
  RecoverStats stats;
  Status status = Recover(options, &stats);
  if (flags.verbose) {
    std::fprintf(stderr,
                 "refqueue recover: %d fanned out, %d stale removed, %d quarantined, %d done "
                 "removed, %d tmp removed\n",
                 stats.fanned_out, stats.stale_removed, stats.quarantined, stats.done_removed,
                 stats.tmp_removed);
  }
  return Report(status, "recover");
}

}  // namespace refqueue
