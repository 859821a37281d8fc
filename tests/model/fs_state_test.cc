#include "model/fs_state.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>

#include "model/trace_builder.h"

namespace aftershock {
namespace {

FsState ApplyAll(const std::vector<Op>& ops, FsState s = FsState()) {
  for (const Op& op : ops) {
    Status st = s.Apply(op);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  return s;
}

// A fresh scratch directory, removed (with everything it holds) on exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") +
                       std::string("/aftershock-fs-test.XXXXXX");
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    // Materialized read-only directories must be writable to be removed.
    for (auto& e : std::filesystem::recursive_directory_iterator(path_, ec)) {
      if (e.is_directory(ec) && !e.is_symlink(ec)) {
        std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
      }
    }
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const {
    std::string p = path_ + "/" + name;
    std::filesystem::create_directory(p);
    return p;
  }

 private:
  std::string path_;
};

TEST(FsState, CreateWriteRenameGivesTheRecordedTree) {
  TraceBuilder t;
  t.Mkdir("q");
  int fd = t.Create("q/tmp.1", 0600);
  t.Write(fd, "hello ");
  t.Write(fd, "world");
  t.Fchmod(fd, 0700);
  t.Close(fd);
  t.Rename("q/tmp.1", "q/msg");
  FsState s = ApplyAll(t.ops());
  const Inode* n = s.Stat("q/msg");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->data, "hello world");
  EXPECT_EQ(n->mode, 0700u);
  EXPECT_EQ(n->nlink, 1u);
  EXPECT_EQ(s.Stat("q/tmp.1"), nullptr);
}

TEST(FsState, OpOnAPathTheModelLacksIsAnErrorNamingTheOp) {
  TraceBuilder t;
  t.Mkdir("q");
  FsState s = ApplyAll(t.ops());
  Op op;
  op.seq = 9;
  op.kind = OpKind::kUnlink;
  op.path = "/r/q/nothere";
  Status st = s.Apply(op);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("op 9 unlink /r/q/nothere"), std::string::npos) << st.message();
}

TEST(FsState, AnFdWhoseOpenWasNotRecordedIsFoundByItsPathAndBound) {
  TraceBuilder t;
  t.Mkdir("q");
  FsState s = ApplyAll(t.ops());
  Op op;
  op.kind = OpKind::kFsync;  // a directory opened O_RDONLY, open not recorded
  op.fd = 4;
  op.dev = 1;
  op.ino = 77;
  op.path = "/r/q";
  std::vector<Effect> effects;
  ASSERT_TRUE(s.Apply(op, &effects).ok());
  ASSERT_EQ(effects.size(), 1u);
  EXPECT_EQ(effects[0].ino, *s.Lookup("q"));
  Op rename;
  rename.kind = OpKind::kRename;
  rename.path = "/r/q";
  rename.path2 = "/r/p";
  ASSERT_TRUE(s.Apply(rename).ok());
  effects.clear();
  ASSERT_TRUE(s.Apply(op, &effects).ok());  // bound now: the stale path does not matter
  EXPECT_EQ(effects[0].ino, *s.Lookup("p"));
}

TEST(FsState, WriteThroughAnFdTheModelNeverSawOpenedIsAnError) {
  FsState s;
  s.SetRoot("/r");
  Op op;
  op.kind = OpKind::kWrite;
  op.fd = 5;
  op.dev = 1;
  op.ino = 77;
  op.path = "/r/x";
  op.data = "abc";
  op.result = 3;
  EXPECT_FALSE(s.Apply(op).ok());
}

TEST(FsState, OpsOutsideTheRootChangeNothing) {
  TraceBuilder t;
  FsState s = ApplyAll(t.ops());
  Op op;
  op.kind = OpKind::kOpen;
  op.path = "/var/log/x";
  op.flags = trace::kFlagCreated;
  op.oflags = O_CREAT | O_WRONLY;
  op.result = 3;
  op.dev = 9;
  op.ino = 9;
  ASSERT_TRUE(s.Apply(op).ok());
  op.kind = OpKind::kWrite;
  op.data = "log";
  op.fd = 3;
  ASSERT_TRUE(s.Apply(op).ok());
  op.kind = OpKind::kMkdir;
  op.path = "/r/escaped";
  op.flags = trace::kFlagEscape;
  ASSERT_TRUE(s.Apply(op).ok());
  EXPECT_EQ(s, FsState());
}

TEST(FsState, HardLinksShareOneInode) {
  TraceBuilder t;
  int fd = t.Create("a");
  t.Link("a", "b");
  t.Write(fd, "shared");
  FsState s = ApplyAll(t.ops());
  EXPECT_EQ(s.Lookup("a"), s.Lookup("b"));
  EXPECT_EQ(s.Stat("b")->data, "shared");
  EXPECT_EQ(s.Stat("a")->nlink, 2u);
}

TEST(FsState, ShortWriteAppliesOnlyTheBytesWritten) {
  TraceBuilder t;
  int fd = t.Create("a");
  t.Write(fd, "abcdef", 2);
  t.Write(fd, "XY");
  FsState s = ApplyAll(t.ops());
  EXPECT_EQ(s.Stat("a")->data, "abXY");
}

TEST(FsState, FailedCallsChangeNothing) {
  TraceBuilder t;
  int fd = t.Create("a");
  t.Write(fd, "abc");
  FsState before = ApplyAll(t.ops());
  Op op;
  op.kind = OpKind::kRename;
  op.path = "/r/a";
  op.path2 = "/r/b";
  op.result = -1;
  op.err = EXDEV;
  ASSERT_TRUE(before.Apply(op).ok());
  EXPECT_NE(before.Stat("a"), nullptr);
  EXPECT_EQ(before.Stat("b"), nullptr);
}

TEST(FsState, AReusedInodeNumberRebindsToTheNewFile) {
  TraceBuilder t;
  FsState s = ApplyAll(t.ops());
  auto open = [&](const char* path, uint64_t seq, bool created) {
    Op op;
    op.seq = seq;
    op.kind = OpKind::kOpen;
    op.path = path;
    op.oflags = O_CREAT | O_WRONLY;
    op.flags = created ? trace::kFlagCreated : 0;
    op.result = 3;
    op.dev = 1;
    op.ino = 500;  // the kernel hands out the same number twice
    ASSERT_TRUE(s.Apply(op).ok());
  };
  auto write = [&](const char* data) {
    Op op;
    op.kind = OpKind::kWrite;
    op.fd = 3;
    op.dev = 1;
    op.ino = 500;
    op.data = data;
    op.result = static_cast<int64_t>(op.data.size());
    ASSERT_TRUE(s.Apply(op).ok());
  };
  open("/r/old", 2, true);
  write("old");
  Op unlink;
  unlink.kind = OpKind::kUnlink;
  unlink.path = "/r/old";
  ASSERT_TRUE(s.Apply(unlink).ok());
  open("/r/new", 4, true);
  write("new");
  EXPECT_EQ(s.Stat("new")->data, "new");
  EXPECT_EQ(s.Stat("old"), nullptr);
  EXPECT_EQ(s.inode_count(), 2u);  // the root and "new": the old inode is gone
}

TEST(FsState, OTruncOnOpenEmptiesTheFile) {
  TraceBuilder t;
  int fd = t.Create("a");
  t.Write(fd, "abc");
  t.Close(fd);
  fd = t.Open("a", O_WRONLY | O_TRUNC);
  t.Write(fd, "z");
  FsState s = ApplyAll(t.ops());
  EXPECT_EQ(s.Stat("a")->data, "z");
}

TEST(FsState, RenameOfADirectoryMovesItsChildren) {
  TraceBuilder t;
  t.Mkdir("d");
  int fd = t.Create("d/f");
  t.Write(fd, "x");
  t.Rename("d", "e");
  t.Write(fd, "y");
  FsState s = ApplyAll(t.ops());
  EXPECT_EQ(s.Stat("e/f")->data, "xy");
  EXPECT_EQ(s.Stat("d"), nullptr);
}

TEST(FsState, DiffNamesTheFirstDifferingPath) {
  FsState a, b;
  ASSERT_TRUE(a.AddDirectory("q", 0755).ok());
  ASSERT_TRUE(b.AddDirectory("q", 0755).ok());
  ASSERT_TRUE(a.AddFile("q/m", "abc", 0644).ok());
  ASSERT_TRUE(b.AddFile("q/m", "abd", 0644).ok());
  EXPECT_EQ(Diff(a, b).value_or(""), "q/m: bytes differ from offset 2");
  ASSERT_TRUE(b.AddFile("q/l", "", 0644).ok());
  EXPECT_EQ(Diff(a, b).value_or(""), "q/l: only in the second");
  EXPECT_FALSE(Diff(a, a).has_value());
  EXPECT_NE(a.Hash128(), b.Hash128());
}

TEST(FsState, DiffOrdersPathsAsTheWalkDoes) {
  // "a/b" comes before "a-c" in a depth-first walk although '-' < '/'.
  FsState a, b;
  for (FsState* s : {&a, &b}) {
    ASSERT_TRUE(s->AddDirectory("a", 0755).ok());
    ASSERT_TRUE(s->AddFile("a/b", "", 0644).ok());
  }
  ASSERT_TRUE(b.AddFile("a-c", "", 0644).ok());
  EXPECT_EQ(Diff(a, b).value_or(""), "a-c: only in the second");
}

TEST(FsState, MaterializeThenCaptureKeepsEverything) {
  FsState s;
  s.SetRootMode(0750);
  ASSERT_TRUE(s.AddDirectory("q", 0700).ok());
  ASSERT_TRUE(s.AddDirectory("ro", 0555).ok());
  ASSERT_TRUE(s.AddFile("ro/f", "read only", 0444).ok());
  ASSERT_TRUE(s.AddFile("q/done", std::string("\0bin\0", 5), 0700).ok());
  ASSERT_TRUE(s.AddHardLink("q/done", "q/again").ok());
  ASSERT_TRUE(s.AddSymlink("link", "q/done").ok());
  ASSERT_TRUE(s.AddFifo("q/pipe", 0622).ok());
  ScratchDir scratch;
  std::string dir = scratch.Sub("m");
  Status st = Materialize(s, dir);
  ASSERT_TRUE(st.ok()) << st.message();
  auto back = Capture(dir, &st);
  ASSERT_TRUE(back.has_value()) << st.message();
  EXPECT_EQ(Diff(s, *back).value_or("equal"), "equal");
  EXPECT_EQ(s.Hash128(), back->Hash128());
}

// A socket file (a server's bind) is no part of a state: Capture leaves it
// out instead of failing, so a run whose server is still bound (Postfix's
// master and its public/ sockets) can be captured.
TEST(FsState, CaptureLeavesSocketFilesOut) {
  ScratchDir scratch;
  std::string dir = scratch.Sub("m");
  std::filesystem::create_directory(dir + "/public");
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir + "/public/pickup";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  Status st;
  auto back = Capture(dir, &st);
  ::close(s);
  ASSERT_TRUE(back.has_value()) << st.message();
  EXPECT_NE(back->Lookup("public"), std::nullopt);
  EXPECT_EQ(back->Lookup("public/pickup"), std::nullopt);
}

TEST(FsState, MaterializeRefusesANonEmptyDirectory) {
  ScratchDir scratch;
  std::string dir = scratch.Sub("m");
  std::filesystem::create_directory(dir + "/x");
  EXPECT_FALSE(Materialize(FsState(), dir).ok());
}

// Random traces of file and directory operations over a few names.
struct Action {
  int kind;
  int a, b;
  std::string data;
};

std::vector<Op> BuildTrace(const std::vector<Action>& actions) {
  TraceBuilder t;
  std::vector<std::string> dirs = {"", "d"};
  t.Mkdir("d");
  std::map<std::string, int> fds;  // path -> open fd
  auto name = [&](int i) {
    return dirs[i % 2] + (dirs[i % 2].empty() ? "" : "/") + "f" + std::to_string(i % 3);
  };
  for (const Action& x : actions) {
    std::string p = name(x.a), q = name(x.b);
    bool has_p = fds.count(p) != 0, has_q = fds.count(q) != 0;
    switch (x.kind % 6) {
      case 0:
        if (!has_p) fds[p] = t.Create(p, 0600 | (x.b & 0100), O_RDWR);
        break;
      case 1:
        if (has_p) t.Pwrite(fds[p], x.b % 700, x.data);
        break;
      case 2:
        if (has_p && p != q && !(has_q && fds[p] == fds[q])) {  // same inode: a no-op
          t.Rename(p, q);
          fds[q] = fds[p];
          fds.erase(p);
        }
        break;
      case 3:
        if (has_p && !has_q && p != q) {
          t.Link(p, q);
          fds[q] = fds[p];
        }
        break;
      case 4:
        if (has_p) {
          t.Unlink(p);
          fds.erase(p);
        }
        break;
      case 5:
        if (has_p) t.Fchmod(fds[p], 0600 | (x.b & 0111));
        break;
    }
  }
  return t.ops();
}

RC_GTEST_PROP(FsState, MaterializeThenCaptureIsIdentity, (std::vector<Action> actions)) {
  FsState s;
  for (const Op& op : BuildTrace(actions)) {
    Status st = s.Apply(op);
    if (!st.ok()) RC_FAIL(st.message());
  }
  ScratchDir scratch;
  std::string dir = scratch.Sub("m");
  RC_ASSERT(Materialize(s, dir).ok());
  Status st;
  auto back = Capture(dir, &st);
  RC_ASSERT(back.has_value());
  RC_ASSERT(Diff(s, *back).value_or("equal") == "equal");
  RC_ASSERT(s.Hash128() == back->Hash128());
}

}  // namespace
}  // namespace aftershock

namespace rc {
template <>
struct Arbitrary<aftershock::Action> {
  static Gen<aftershock::Action> arbitrary() {
    return gen::build<aftershock::Action>(
        gen::set(&aftershock::Action::kind, gen::inRange(0, 6)),
        gen::set(&aftershock::Action::a, gen::inRange(0, 6)),
        gen::set(&aftershock::Action::b, gen::inRange(0, 1000)),
        gen::set(&aftershock::Action::data, gen::container<std::string>(gen::character<char>())));
  }
};
}  // namespace rc
