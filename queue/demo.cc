// refqueue-demo: what the reference queue does, in one run. Makes a scratch
// directory, enqueues messages to several queues under both fan-out
// strategies, delivers to a small sink and into maildirs, kills a queue run
// at a fault point (when fault points are compiled in), recovers, and shows
// that a bug variant loses mail under the same kill. Exits 0 iff every step
// did what it should.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "fault.h"
#ifdef FIU_ENABLE
#include <fiu-control.h>
#endif
#include "fs.h"
#include "refqueue.h"

namespace refqueue {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSinkScript = R"SH(#!/bin/sh
# The demo's sink: accepts every copy and logs it outside the queue root.
copy=$(mktemp)
cat > "$copy"
id=$(sed -n 's/^X-Aftershock-Id: //p' "$copy" | head -n 1)
for rcpt in "$@"; do
  printf '%s %s %s\n' "$id" "$rcpt" "$(wc -c < "$copy")" >> "$(dirname "$0")/sink.log"
done
rm -f "$copy"
)SH";

int g_failures = 0;

void Expect(bool ok, const std::string& what) {
  std::printf("  %s %s\n", ok ? "ok  " : "FAIL", what.c_str());
  if (!ok) ++g_failures;
}

std::string Message(const std::string& id, const std::string& to) {
  return "Message-ID: <" + id + "@aftershock.invalid>\nX-Aftershock-Id: " + id + "\nTo: " + to +
         "\nSubject: aftershock " + id + "\n\nHello from the reference queue.\n";
}

// "id rcpt" -> copies accepted by the sink.
std::map<std::string, int> SinkCounts(const std::string& dir) {
  std::map<std::string, int> counts;
  std::ifstream log(dir + "/sink.log");
  std::string id, rcpt, bytes;
  while (log >> id >> rcpt >> bytes) ++counts[id + " " + rcpt];
  return counts;
}

void ShowTree(const std::string& root) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    bool complete = (fs::status(file).permissions() & fs::perms::owner_exec) != fs::perms::none;
    std::printf("    %s%s\n", fs::relative(file, root).c_str(), complete ? "  (+x: complete)" : "");
  }
}

void EnqueueOrFail(const Options& options, const std::string& id,
                   const std::vector<std::string>& rcpts, Fanout fanout) {
  Options with = options;
  with.fanout = fanout;
  std::string to, name;
  for (const std::string& rcpt : rcpts) to += (to.empty() ? "" : ", ") + rcpt;
  Status status = Enqueue(with, id, rcpts, Message(id, to), &name);
  Expect(status.ok(), "enqueue " + id + " to " + to + " (" +
                          (fanout == Fanout::kHardlink ? "hardlink" : "workfile") +
                          ") acknowledged as incoming/" + name);
}

#ifdef FIU_ENABLE
// Runs Deliver in a child that is killed at the first hit of `point`.
bool DeliverKilledAt(const Options& options, const char* point) {
  pid_t pid = fork();
  if (pid == 0) {
    fiu_init(0);
    fiu_enable(point, 1, nullptr, 0);
    DeliverStats stats;
    _exit(Deliver(options, &stats).ok() ? 0 : 1);
  }
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  return WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL;
}
#endif

void Run(const std::string& dir) {
  const std::string sink = dir + "/sink.sh";
  std::ofstream(sink) << kSinkScript;
  fs::permissions(sink, fs::perms::owner_all);
  Options options;
  options.root = dir + "/root";
  options.now_s = 1700000000;
  options.sink = sink;

  std::printf("1. init and enqueue (root %s)\n", options.root.c_str());
  Expect(Init(options, {"local", "remote"}).ok(), "init queues local and remote");
  EnqueueOrFail(options, "m1", {"alice@local", "bob@remote"}, Fanout::kWorkfile);
  EnqueueOrFail(options, "m2", {"carol@local", "dave@remote", "erin@remote"}, Fanout::kHardlink);
  EnqueueOrFail(options, "m3", {"alice@local"}, Fanout::kWorkfile);
  ShowTree(options.root);

  std::printf("2. deliver: fan out, hand each copy to the sink, mark it done\n");
  DeliverStats stats;
  bool delivered = Deliver(options, &stats).ok();
  Expect(delivered && stats.delivered == 6,
         std::to_string(stats.fanned_out) + " fanned out, " + std::to_string(stats.delivered) +
             " copies delivered, " + std::to_string(stats.removed) + " queue files removed");
  std::map<std::string, int> counts = SinkCounts(dir);
  for (const auto& [pair, n] : counts) std::printf("    sink accepted %s x%d\n", pair.c_str(), n);

  std::printf("3. maildir delivery\n");
  EnqueueOrFail(options, "m4", {"alice@local", "bob@remote"}, Fanout::kHardlink);
  Options maildir = options;
  maildir.maildir = true;
  Expect(Deliver(maildir, &stats).ok(), "deliver into mail/<rcpt>/new");
  Expect(fs::exists(options.root + "/mail/alice@local/new/1700000000.m4"),
         "mail/alice@local/new/1700000000.m4 exists");

  std::printf("4. crash during fan-out, then recover\n");
#ifdef FIU_ENABLE
  EnqueueOrFail(options, "m5", {"frank@local", "grace@remote"}, Fanout::kWorkfile);
  Expect(DeliverKilledAt(options, "refqueue/fanout/after-output"),
         "deliver killed at refqueue/fanout/after-output");
  ShowTree(options.root);
  RecoverStats recovered;
  Expect(Recover(options, &recovered).ok() && recovered.fanned_out == 1,
         "recover rolled the work file forward");
  Expect(Deliver(options, &stats).ok(), "deliver after recovery");
  counts = SinkCounts(dir);
  Expect(counts["m5 frank@local"] == 1 && counts["m5 grace@remote"] == 1,
         "m5 delivered once to each recipient");

  std::printf("5. the same kind of crash with bug variant done-before-delivery\n");
  EnqueueOrFail(options, "m6", {"heidi@local"}, Fanout::kWorkfile);
  Options buggy = options;
  Expect(BugSet::Parse("done-before-delivery", &buggy.bugs).ok(), "enable done-before-delivery");
  Expect(DeliverKilledAt(buggy, "refqueue/deliver/after-mark"),
         "deliver killed at refqueue/deliver/after-mark");
  Expect(Recover(options, &recovered).ok() && Deliver(options, &stats).ok(),
         "recover and deliver (without the bug)");
  counts = SinkCounts(dir);
  Expect(counts["m6 heidi@local"] == 0, "m6 was acknowledged and is lost: the bug is visible");
#else
  std::printf("  (fault points compiled out: meson configure -Dfiu=true to see this part)\n");
#endif
}

}  // namespace
}  // namespace refqueue

int main() {
  std::string base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string dir = base + "/refqueue-demo-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  refqueue::Run(dir);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::printf("%s\n", refqueue::g_failures == 0 ? "refqueue-demo: every step behaved"
                                                : "refqueue-demo: FAILED");
  return refqueue::g_failures == 0 ? 0 : 1;
}
