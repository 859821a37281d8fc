// Golden tests: small hand-written traces and the exact states each model
// must produce (dedup off, so that every choice is visible by its id).
#include "model/crash_states.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "model/trace_builder.h"
#include "tests/model/crash_test_util.h"

namespace aftershock {
namespace {

using Map = std::map<std::string, std::string>;

FsState WithDir(const std::string& dir) {
  FsState s;
  EXPECT_TRUE(s.AddDirectory(dir, 0755).ok());
  return s;
}

// seq 2 create q/tmp, 3 write, 4 fsync, 5 close, 6 rename q/tmp -> q/msg.
std::vector<Op> CreateWriteFsyncRename(const FsState& initial) {
  TraceBuilder t("/r", &initial);
  int fd = t.Create("q/tmp");
  t.Write(fd, "data");
  t.Fsync(fd);
  t.Close(fd);
  t.Rename("q/tmp", "q/msg");
  return t.ops();
}

TEST(Golden, CreateWriteFsyncRenameUnderProcessKeepsEveryCall) {
  FsState init = WithDir("q");
  EXPECT_EQ(Golden(init, CreateWriteFsyncRename(init), "process"), (Map{{"p0", ""},
                                                                        {"p2", "q/tmp="},
                                                                        {"p3", "q/tmp=data"},
                                                                        {"p4", "q/tmp=data"},
                                                                        {"p6", "q/msg=data"}}));
}

TEST(Golden, CreateWriteFsyncRenameUnderPosixMayLoseTheFileWithoutADirectoryFsync) {
  FsState init = WithDir("q");
  EXPECT_EQ(Golden(init, CreateWriteFsyncRename(init), "posix"),
            (Map{{"p0", ""},
                 {"p2", "q/tmp="},
                 {"p2-d2", ""},
                 {"p3", "q/tmp=data"},
                 {"p3-d2", ""},
                 {"p3-d3", "q/tmp="},
                 {"p4", "q/tmp=data"},
                 {"p4-d2", ""},  // the data is durable, its name is not
                 {"p6", "q/msg=data"},
                 // The rename reached the disk, the create did not: the new name
                 // still names the (fsynced) inode.
                 {"p6-d2", "q/msg=data"},
                 {"p6-d6", "q/tmp=data"}}));
}

TEST(Golden, CreateWriteFsyncRenameUnderExt4PersistsTheEntryWithTheFileFsync) {
  FsState init = WithDir("q");
  EXPECT_EQ(Golden(init, CreateWriteFsyncRename(init), "ext4-ordered"),
            (Map{{"p0", ""},
                 {"p2", "q/tmp="},
                 {"p2-d2", ""},
                 {"p3", "q/tmp=data"},
                 {"p3-d2", ""},
                 {"p3-d3", "q/tmp="},
                 {"p4", "q/tmp=data"},
                 {"p6", "q/msg=data"},
                 {"p6-d6", "q/tmp=data"}}));
}

// seq 2 open log O_APPEND, 3 append "BB", 4 append "CC"; no fsync.
std::vector<Op> AppendWithoutFsync(FsState* initial) {
  EXPECT_TRUE(initial->AddFile("log", "A", 0644).ok());
  TraceBuilder t("/r", initial);
  int fd = t.Open("log", O_WRONLY | O_APPEND);
  t.Write(fd, "BB");
  t.Write(fd, "CC");
  return t.ops();
}

TEST(Golden, AppendWithoutFsyncUnderPosixDropsEitherAppend) {
  FsState init;
  auto ops = AppendWithoutFsync(&init);
  EXPECT_EQ(Golden(init, ops, "posix"),
            (Map{{"p0", "log=A"},
                 {"p3", "log=ABB"},
                 {"p3-d3", "log=A"},
                 {"p4", "log=ABBCC"},
                 {"p4-d3", "log=A\\0\\0CC"},  // the later append landed, the earlier did not
                 {"p4-d4", "log=ABB"}}));
  EXPECT_EQ(Golden(init, ops, "ext4-ordered"), Golden(init, ops, "posix"));
  EXPECT_EQ(Golden(init, ops, "process"),
            (Map{{"p0", "log=A"}, {"p3", "log=ABB"}, {"p4", "log=ABBCC"}}));
}

TEST(Golden, TornAppendMayLeaveZerosInTheSectorsThatDidNotLand) {
  FsState init;
  ASSERT_TRUE(init.AddFile("log", "", 0644).ok());
  TraceBuilder t("/r", &init);
  int fd = t.Open("log", O_WRONLY | O_APPEND);
  t.Write(fd, std::string(600, 'x'));  // seq 3: sectors 0 and 1 of 512 B
  Map got = Golden(init, t.ops(), "posix+torn");
  std::string z512, z88;
  for (int i = 0; i < 512; ++i) z512 += "\\0";
  for (int i = 0; i < 88; ++i) z88 += "\\0";
  EXPECT_EQ(got, (Map{{"p0", "log="},
                      {"p3", "log=" + std::string(600, 'x')},
                      {"p3-d3", "log="},
                      {"p3-t3s0", "log=" + std::string(512, 'x') + z88},
                      {"p3-t3s1", "log=" + z512 + std::string(88, 'x')}}));
  // A write inside one sector never tears.
  TraceBuilder small("/r", &init);
  fd = small.Open("log", O_WRONLY | O_APPEND);
  small.Write(fd, std::string(100, 'y'));
  EXPECT_EQ(Golden(init, small.ops(), "posix+torn4096").size(), 3u);
}

// Postfix: create the queue file, write, fsync, fchmod +x (complete), fsync,
// fsync the directory.
// seq 2 create, 3 write, 4 fsync, 5 fchmod 0700, 6 fsync, 7 open dir, 8 fsync dir.
std::vector<Op> PostfixSequence(const FsState& initial) {
  TraceBuilder t("/r", &initial);
  int fd = t.Create("incoming/Q", 0600);
  t.Write(fd, "msg");
  t.Fsync(fd);
  t.Fchmod(fd, 0700);
  t.Fsync(fd);
  int dir = t.OpenDir("incoming");
  t.Fsync(dir);
  return t.ops();
}

TEST(Golden, PostfixSequenceUnderProcess) {
  FsState init = WithDir("incoming");
  EXPECT_EQ(Golden(init, PostfixSequence(init), "process"), (Map{{"p0", ""},
                                                                 {"p2", "incoming/Q="},
                                                                 {"p3", "incoming/Q=msg"},
                                                                 {"p4", "incoming/Q=msg"},
                                                                 {"p5", "incoming/Q*=msg"},
                                                                 {"p6", "incoming/Q*=msg"},
                                                                 {"p8", "incoming/Q*=msg"}}));
}

TEST(Golden, PostfixSequenceUnderPosixIsSafeOnlyAfterTheDirectoryFsync) {
  FsState init = WithDir("incoming");
  EXPECT_EQ(Golden(init, PostfixSequence(init), "posix"), (Map{{"p0", ""},
                                                               {"p2", "incoming/Q="},
                                                               {"p2-d2", ""},
                                                               {"p3", "incoming/Q=msg"},
                                                               {"p3-d2", ""},
                                                               {"p3-d3", "incoming/Q="},
                                                               {"p4", "incoming/Q=msg"},
                                                               {"p4-d2", ""},
                                                               {"p5", "incoming/Q*=msg"},
                                                               {"p5-d2", ""},
                                                               {"p5-d5", "incoming/Q=msg"},
                                                               {"p6", "incoming/Q*=msg"},
                                                               {"p6-d2", ""},
                                                               {"p8", "incoming/Q*=msg"}}));
}

TEST(Golden, PostfixSequenceUnderExt4IsSafeAfterTheFirstFsync) {
  FsState init = WithDir("incoming");
  EXPECT_EQ(Golden(init, PostfixSequence(init), "ext4-ordered"), (Map{{"p0", ""},
                                                                      {"p2", "incoming/Q="},
                                                                      {"p2-d2", ""},
                                                                      {"p3", "incoming/Q=msg"},
                                                                      {"p3-d2", ""},
                                                                      {"p3-d3", "incoming/Q="},
                                                                      {"p4", "incoming/Q=msg"},
                                                                      {"p5", "incoming/Q*=msg"},
                                                                      {"p5-d5", "incoming/Q=msg"},
                                                                      {"p6", "incoming/Q*=msg"},
                                                                      {"p8", "incoming/Q*=msg"}}));
}

// seq 2 create cfg.tmp, 3 write "new", 4 close, 5 rename over cfg ("old").
std::vector<Op> ReplaceByRename(FsState* initial) {
  EXPECT_TRUE(initial->AddFile("cfg", "old", 0644).ok());
  TraceBuilder t("/r", initial);
  int fd = t.Create("cfg.tmp", 0644);
  t.Write(fd, "new");
  t.Close(fd);
  t.Rename("cfg.tmp", "cfg");
  return t.ops();
}

TEST(Golden, ReplacingRenameWithoutFsyncMayLeaveAnEmptyFileUnderPosixOnly) {
  FsState init;
  auto ops = ReplaceByRename(&init);
  Map posix = Golden(init, ops, "posix");
  EXPECT_EQ(posix["p5-d3"], "cfg=");     // the zero-length file after a crash
  EXPECT_EQ(posix["p5-d2"], "cfg=new");  // the rename alone names the new inode
  Map ext4 = Golden(init, ops, "ext4-ordered");
  // auto_da_alloc: dropping the data drops the rename that needs it.
  EXPECT_EQ(ext4.count("p5-d3"), 0u);
  EXPECT_EQ(ext4["p5-d3-d5"], "cfg=old cfg.tmp=");
  EXPECT_EQ(ext4["p5-d2-d5"], "cfg=old");  // journal order: no rename without the create
  EXPECT_EQ(ext4["p5-d5"], "cfg=old cfg.tmp=new");
  EXPECT_EQ(ext4["p5"], "cfg=new");
}

TEST(Golden, FailedFsyncLosesTheDataItCoveredForGood) {
  FsState init;
  TraceBuilder t("/r", &init);
  int fd = t.Create("f");
  t.Write(fd, "A");      // 3
  t.Fsync(fd);           // 4
  t.Pwrite(fd, 1, "B");  // 5
  t.Fsync(fd, EIO);      // 6: injected EIO
  t.Fsync(fd);           // 7: succeeds, but B is gone
  EXPECT_EQ(Golden(init, t.ops(), "posix", Strategy::kPrefix), (Map{{"p0", ""},
                                                                    {"p2", "f="},
                                                                    {"p3", "f=A"},
                                                                    {"p4", "f=A"},
                                                                    {"p5", "f=AB"},
                                                                    {"p6", "f=A"},
                                                                    {"p7", "f=A"}}));
  // A killed process loses nothing: the page cache still has B.
  EXPECT_EQ(Golden(init, t.ops(), "process", Strategy::kPrefix)["p7"], "f=AB");
}

TEST(Golden, DescriptionsNameTheOpsInWords) {
  FsState init = WithDir("q");
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix");
  o.strategy = Strategy::kOmitOne;
  o.dedup = false;
  RunResult r = RunGenerator(init, CreateWriteFsyncRename(init), o);
  ASSERT_TRUE(r.status.ok()) << r.status.message();
  std::map<std::string, std::string> desc;
  for (const auto& cs : r.states) desc[cs.id] = cs.description;
  EXPECT_EQ(desc["p6-d6"],
            "after op 6 (rename q/tmp -> q/msg); dropped op 6 (rename q/tmp -> q/msg)");
  EXPECT_EQ(desc["p6-d2"], "after op 6 (rename q/tmp -> q/msg); dropped op 2 (create q/tmp)");
  EXPECT_EQ(desc["p0"], "before the first op");
}

TEST(Golden, DedupMergesEqualStatesAndCountsThem) {
  FsState init = WithDir("q");
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix");
  o.strategy = Strategy::kOmitOne;
  RunResult r = RunGenerator(init, CreateWriteFsyncRename(init), o);
  std::vector<std::string> ids;
  for (const auto& cs : r.states) ids.push_back(cs.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"p0", "p2", "p3", "p6"}));
  // The point after the fsync (op 4) is pruned: its 2 states equal p3's.
  EXPECT_EQ(r.stats.pruned, 1u);
  EXPECT_EQ(r.stats.generated, 9u);
  EXPECT_EQ(r.stats.merged, 5u);
  o.prune = false;
  RunResult unpruned = RunGenerator(init, CreateWriteFsyncRename(init), o);
  std::vector<std::string> unpruned_ids;
  for (const auto& cs : unpruned.states) unpruned_ids.push_back(cs.id);
  EXPECT_EQ(unpruned_ids, ids);
  EXPECT_EQ(unpruned.stats.pruned, 0u);
  EXPECT_EQ(unpruned.stats.generated, 11u);
  EXPECT_EQ(unpruned.stats.merged, 7u);
}

TEST(Golden, AnAckBetweenEqualStatesKeepsBothStates) {
  FsState init = WithDir("q");
  auto ops = CreateWriteFsyncRename(init);
  Op ack;
  ack.kind = OpKind::kMark;
  ack.path = "ack";
  ack.data = "m1 a@local";
  ack.seq = 7;
  ops.push_back(ack);
  CrashOptions o;
  o.model = *PersistenceModel::Parse("process");
  RunResult r = RunGenerator(init, ops, o);
  ASSERT_EQ(r.states.size(), 5u);  // p0 p2 p3 p6 p7: p7 equals p6 but promises more
  EXPECT_EQ(r.states.back().id, "p7");
}

TEST(Golden, CrashPointsCanBeLimitedToASeqRangeAndToProcesses) {
  FsState init = WithDir("q");
  TraceBuilder t("/r", &init);
  int fd = t.Create("q/a");  // 2, pid 100
  t.SetPid(200);
  t.Write(fd, "x");  // 3, pid 200
  t.SetPid(100);
  t.Write(fd, "y");  // 4
  t.Write(fd, "z");  // 5
  CrashOptions o;
  o.model = *PersistenceModel::Parse("process");
  o.dedup = false;
  o.seq_from = 3;
  o.seq_to = 4;
  std::vector<std::string> ids;
  for (const auto& cs : RunGenerator(init, t.ops(), o).states) ids.push_back(cs.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"p3", "p4"}));
  o.seq_from = 0;
  o.seq_to = UINT64_MAX;
  o.pids = {200};
  ids.clear();
  for (const auto& cs : RunGenerator(init, t.ops(), o).states) ids.push_back(cs.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"p3"}));
}

TEST(Golden, AnOpThatContradictsTheModelStopsTheGeneratorWithAnError) {
  FsState init;
  TraceBuilder t("/r", &init);
  t.Unlink("nothere");
  CrashOptions o;
  RunResult r = RunGenerator(init, t.ops(), o);
  EXPECT_FALSE(r.status.ok());
  EXPECT_NE(r.status.message().find("nothere"), std::string::npos);
}

TEST(Golden, ModelNamesParseAndPrint) {
  for (const char* name : {"process", "posix", "ext4-ordered", "posix+torn",
                           "ext4-ordered+torn4096", "posix+dirsync", "ext4-ordered+torn+dirsync"}) {
    auto m = PersistenceModel::Parse(name);
    ASSERT_TRUE(m.has_value()) << name;
    EXPECT_EQ(m->Name(), name);
  }
  for (const char* bad : {"process+torn", "process+dirsync", "zfs", "posix+dirsync+torn",
                          "posix+dirsync+dirsync", "posix+torn+torn", "posix+", "posix+sync"}) {
    EXPECT_FALSE(PersistenceModel::Parse(bad).has_value()) << bad;
  }
}

// dirsync (a file system mounted -o dirsync, or chattr +S on the queue's
// directories, as Postfix's documentation advises where metadata is not
// ordered): the create and the rename are durable at return, so no state
// loses a name; the data still waits for its fsync.
TEST(Golden, CreateWriteFsyncRenameUnderDirsyncNeverLosesAName) {
  FsState init = WithDir("q");
  EXPECT_EQ(Golden(init, CreateWriteFsyncRename(init), "posix+dirsync"),
            (Map{{"p0", ""},
                 {"p2", "q/tmp="},
                 {"p3", "q/tmp=data"},
                 {"p3-d3", "q/tmp="},
                 {"p4", "q/tmp=data"},
                 {"p6", "q/msg=data"}}));
}

TEST(Golden, PostfixSequenceUnderDirsyncIsSafeAfterTheFirstFsync) {
  FsState init = WithDir("incoming");
  EXPECT_EQ(Golden(init, PostfixSequence(init), "posix+dirsync"), (Map{{"p0", ""},
                                                                       {"p2", "incoming/Q="},
                                                                       {"p3", "incoming/Q=msg"},
                                                                       {"p3-d3", "incoming/Q="},
                                                                       {"p4", "incoming/Q=msg"},
                                                                       {"p5", "incoming/Q*=msg"},
                                                                       {"p5-d5", "incoming/Q=msg"},
                                                                       {"p6", "incoming/Q*=msg"},
                                                                       {"p8", "incoming/Q*=msg"}}));
}

// dirsync makes names durable, not bytes: a file renamed into place without
// its fsync may still be empty after the crash, under both bases.
TEST(Golden, DirsyncDoesNotMakeDataDurable) {
  FsState init = WithDir("q");
  TraceBuilder t("/r", &init);
  int fd = t.Create("q/tmp");
  t.Write(fd, "data");
  t.Close(fd);
  t.Rename("q/tmp", "q/msg");
  for (const char* model : {"posix+dirsync", "ext4-ordered+dirsync"}) {
    Map states = Golden(init, t.ops(), model);
    EXPECT_EQ(states["p5-d3"], "q/msg=") << model;
    for (const auto& [id, state] : states) {
      EXPECT_EQ(id.find("-d2"), std::string::npos) << model << ": the create was dropped in " << id;
      EXPECT_EQ(id.find("-d5"), std::string::npos) << model << ": the rename was dropped in " << id;
    }
  }
}

}  // namespace
}  // namespace aftershock

namespace aftershock {
namespace {

TEST(Generator, AWindowBeyondItsBoundTreatsTheOldestPendingOpAsDurable) {
  FsState init;
  ASSERT_TRUE(init.AddFile("log", "", 0644).ok());
  TraceBuilder t("/r", &init);
  int fd = t.Open("log", O_WRONLY | O_APPEND);
  for (int i = 0; i < 50; ++i) t.Write(fd, "line\n");  // never fsynced
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix");
  o.strategy = Strategy::kOmitOne;
  o.max_window = 8;
  RunResult r = RunGenerator(init, t.ops(), o);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.stats.max_window_seen, 8u);
  EXPECT_EQ(r.stats.forced, 42u);
  for (const CrashState& cs : r.states) EXPECT_LE(cs.dropped_seqs.size(), 1u);
}

TEST(Generator, MaxStatesStopsTheStream) {
  FsState init;
  TraceBuilder t("/r", &init);
  int fd = t.Create("f");
  for (int i = 0; i < 10; ++i) t.Write(fd, "x");
  CrashOptions o;
  o.max_states = 3;
  EXPECT_EQ(RunGenerator(init, t.ops(), o).states.size(), 3u);
}

TEST(Generator, RandomIsReproducibleFromItsSeed) {
  FsState init;
  TraceBuilder t("/r", &init);
  int fd = t.Create("f");
  for (int i = 0; i < 30; ++i) t.Pwrite(fd, static_cast<uint64_t>(i * 3 % 17), "abc");
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix");
  o.strategy = Strategy::kRandom;
  o.random_count = 20;
  o.seed = 42;
  auto ids = [&] {
    std::vector<std::string> out;
    for (const auto& cs : RunGenerator(init, t.ops(), o).states) out.push_back(cs.id);
    return out;
  };
  std::vector<std::string> first = ids();
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, ids());
  o.seed = 43;
  EXPECT_NE(first, ids());
}

TEST(Generator, ReadsATraceFileAndPutsSlightlyReorderedRecordsBackInOrder) {
  FsState init;
  TraceBuilder t("/r", &init);
  int fd = t.Create("f");
  t.Write(fd, "a");
  t.Write(fd, "b");
  std::vector<Op> ops = t.ops();
  std::swap(ops[2], ops[3]);  // two threads' records, appended out of seq order
  std::string path = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") +
                     std::string("/aftershock-gen-test.XXXXXX");
  int tmp = mkstemp(path.data());
  ASSERT_GE(tmp, 0);
  ::close(tmp);
  ::unlink(path.c_str());
  {
    TraceWriter w(path);
    for (const Op& op : ops) ASSERT_TRUE(w.Append(op));
  }
  FileOpSource source(path);
  CrashOptions o;
  o.model = *PersistenceModel::Parse("process");
  CrashStateGenerator gen(init, &source, o);
  std::vector<std::string> got;
  while (auto cs = gen.Next()) got.push_back(cs->id + " " + Render(cs->state));
  EXPECT_TRUE(gen.status().ok()) << gen.status().message();
  EXPECT_EQ(got, (std::vector<std::string>{"p0 ", "p2 f=", "p3 f=a", "p4 f=ab"}));
  // A reorder window of one record cannot repair it.
  FileOpSource strict(path, 1);
  CrashStateGenerator gen2(init, &strict, o);
  while (gen2.Next()) {
  }
  EXPECT_FALSE(gen2.status().ok());
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace aftershock

namespace aftershock {
namespace {

TEST(Generator, StatesCanBeUsedInAnotherThreadWhileTheGeneratorGoesOn) {
  FsState init;
  ASSERT_TRUE(init.AddDirectory("q", 0755).ok());
  TraceBuilder t("/r", &init);
  int dir = t.OpenDir("q");
  for (int m = 0; m < 40; ++m) {
    std::string name = "q/m" + std::to_string(m);
    int fd = t.Create(name);
    t.Write(fd, std::string(700, static_cast<char>('a' + m % 26)));
    t.Fsync(fd);
    t.Fchmod(fd, 0700);
    if (m % 3 == 0) t.Fsync(dir);
    if (m % 5 == 4) t.Unlink(name);
  }
  CrashOptions o;
  o.model = *PersistenceModel::Parse("posix+torn");
  o.strategy = Strategy::kOmitOne;
  VectorOpSource source(&t.ops());
  CrashStateGenerator gen(init, &source, o);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<CrashState> queue;
  bool done = false;
  int checked = 0, wrong = 0;
  std::thread worker([&] {
    for (;;) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done || !queue.empty(); });
      if (queue.empty()) return;
      CrashState cs = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      FsState copy = cs.state;  // as a worker would, then read it
      bool same = copy.Hash128() == cs.hash128;
      lock.lock();
      ++checked;
      wrong += same ? 0 : 1;
    }
  });
  int produced = 0;
  while (auto cs = gen.Next()) {
    std::lock_guard<std::mutex> lock(mu);
    queue.push_back(std::move(*cs));
    ++produced;
    cv.notify_one();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_one();
  worker.join();
  ASSERT_TRUE(gen.status().ok()) << gen.status().message();
  EXPECT_GT(produced, 100);
  EXPECT_EQ(checked, produced);
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace aftershock
