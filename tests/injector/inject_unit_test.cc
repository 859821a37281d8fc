// Unit tests of the allocation-free pieces of the preloaded recorder.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "injector/faults.h"
#include "injector/insn_length.h"
#include "injector/modules.h"
#include "injector/paths.h"

namespace aftershock::inject {
namespace {

std::string Resolve(const std::string& base, const std::string& rel) {
  char out[kPathCap];
  size_t n = ResolvePath(base.data(), base.size(), rel.data(), rel.size(), out, sizeof out);
  return std::string(out, n);
}

TEST(Paths, RelativePathIsJoinedToTheBase) { EXPECT_EQ(Resolve("/r/q", "a/b"), "/r/q/a/b"); }

TEST(Paths, AbsolutePathIgnoresTheBase) { EXPECT_EQ(Resolve("/r/q", "/x//y/"), "/x/y"); }

TEST(Paths, DotAndDotDotAreResolvedLexically) {
  EXPECT_EQ(Resolve("/r/q", "./a/../b/./c"), "/r/q/b/c");
  EXPECT_EQ(Resolve("/r", "../../../x"), "/x");
  EXPECT_EQ(Resolve("/", ".."), "/");
}

TEST(Paths, TooLongPathIsRejected) {
  std::string big(kPathCap, 'a');
  EXPECT_EQ(Resolve("/", big), "");
}

TEST(Paths, UnderMeansEqualOrBelowAComponentBoundary) {
  EXPECT_TRUE(PathIsUnder("/r/a", 4, "/r", 2));
  EXPECT_TRUE(PathIsUnder("/r", 2, "/r", 2));
  EXPECT_FALSE(PathIsUnder("/rx", 3, "/r", 2));
  EXPECT_TRUE(PathIsUnder("/anything", 9, "/", 1));
}

RC_GTEST_PROP(Paths, ResolvedPathsAreNormalAndStable, ()) {
  auto part = rc::gen::element<std::string>("a", "b", ".", "..", "", "c.d");
  auto parts = *rc::gen::container<std::vector<std::string>>(part);
  std::string rel;
  for (const auto& p : parts) rel += p + "/";
  std::string once = Resolve("/base/dir", rel);
  RC_ASSERT(!once.empty());
  RC_ASSERT(once[0] == '/');
  RC_ASSERT(once.find("//") == std::string::npos);
  RC_ASSERT(once.find("/./") == std::string::npos);
  RC_ASSERT(once.find("/../") == std::string::npos);
  RC_ASSERT(Resolve("/", once) == once);
}

FaultPlan Parse(const std::string& spec, bool* ok, std::string* err = nullptr) {
  FaultPlan plan;
  char buf[256] = {};
  *ok = ParseFaultSpec(spec.data(), spec.size(), &plan, buf, sizeof buf);
  if (err) *err = buf;
  return plan;
}

TEST(Faults, FailRuleCarriesPointNthAndErrno) {
  bool ok;
  FaultPlan p = Parse("fail posix/io/sync/fsync nth=3 errno=EIO", &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(p.count, 1);
  EXPECT_EQ(p.rules[0].action, FaultAction::kFail);
  EXPECT_STREQ(p.rules[0].point, "posix/io/sync/fsync");
  EXPECT_EQ(p.rules[0].nth, 3u);
  EXPECT_EQ(p.rules[0].err, EIO);
}

TEST(Faults, SeveralRulesSeparatedByNewlinesOrSemicolons) {
  bool ok;
  FaultPlan p = Parse(
      "short posix/io/rw/write nth=2 bytes=100\nkill before seq=41; kill after "
      "posix/io/dir/rename\n# comment\n\nfail aftershock/io/* errno=28",
      &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(p.count, 4);
  EXPECT_EQ(p.rules[0].bytes, 100u);
  EXPECT_EQ(p.rules[1].action, FaultAction::kKillBefore);
  EXPECT_EQ(p.rules[1].seq, 41u);
  EXPECT_EQ(p.rules[2].action, FaultAction::kKillAfter);
  EXPECT_EQ(p.rules[2].nth, 0u);
  EXPECT_EQ(p.rules[3].err, ENOSPC);
}

TEST(Faults, FailWithoutErrnoIsRejected) {
  bool ok;
  std::string err;
  Parse("fail posix/io/rw/write nth=1", &ok, &err);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("errno"), std::string::npos);
}

TEST(Faults, UnknownWordsAreRejectedNamingTheRule) {
  bool ok;
  std::string err;
  Parse("explode posix/io/rw/write", &ok, &err);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("explode"), std::string::npos);
  Parse("kill before seq=0", &ok);
  EXPECT_FALSE(ok);
  Parse("fail posix/io/rw/write errno=EWHAT", &ok);
  EXPECT_FALSE(ok);
}

TEST(Faults, PauseAndCountRulesParse) {
  bool ok;
  FaultPlan p = Parse("pause before * nth=3; pause before seq=12; count posix/io/rw/write", &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(p.count, 3);
  EXPECT_EQ(p.rules[0].action, FaultAction::kPause);
  EXPECT_STREQ(p.rules[0].point, "*");
  EXPECT_EQ(p.rules[0].nth, 3u);
  EXPECT_EQ(p.rules[1].seq, 12u);
  EXPECT_EQ(p.rules[2].action, FaultAction::kCount);
  EXPECT_TRUE(IsPreSeqRule(p.rules[2].action));
  EXPECT_FALSE(IsPreSeqRule(FaultAction::kKillBefore));
}

TEST(Faults, BadPauseAndCountRulesAreRejected) {
  bool ok;
  Parse("pause posix/io/rw/write", &ok);  // "before" is required
  EXPECT_FALSE(ok);
  Parse("pause before", &ok);
  EXPECT_FALSE(ok);
  Parse("count posix/io/rw/write nth=2", &ok);
  EXPECT_FALSE(ok);
  Parse("count seq=4", &ok);
  EXPECT_FALSE(ok);
  Parse("count posix/io/rw/write seq=4", &ok);
  EXPECT_FALSE(ok);
}

TEST(Faults, StarMatchesEveryPoint) {
  EXPECT_TRUE(PointMatches("*", "posix/io/rw/write"));
  EXPECT_TRUE(PointMatches("*", "aftershock/io/openat"));
}

TEST(Faults, ErrnoNamesAndNumbers) {
  EXPECT_EQ(ErrnoFromName("EDQUOT", 6), EDQUOT);
  EXPECT_EQ(ErrnoFromName("EINTR", 5), EINTR);
  EXPECT_EQ(ErrnoFromName("28", 2), 28);
  EXPECT_EQ(ErrnoFromName("nope", 4), 0);
}

TEST(Faults, PointPatternsMatchLikeLibfiu) {
  EXPECT_TRUE(PointMatches("posix/io/*", "posix/io/rw/write"));
  EXPECT_TRUE(PointMatches("posix/io/rw/write", "posix/io/rw/write"));
  EXPECT_FALSE(PointMatches("posix/io/rw/write", "posix/io/rw/writev"));
}

TEST(Faults, EveryListedErrnoNameParsesToItsValue) {
  ASSERT_GT(kErrnoNameCount, 10u);
  for (size_t i = 0; i < kErrnoNameCount; ++i) {
    const ErrnoName& e = kErrnoNames[i];
    EXPECT_EQ(ErrnoFromName(e.name, std::strlen(e.name)), e.value) << e.name;
  }
}

// The list of fault points and the points the recorder's sources consult
// must be the same set (as tests/queue checks for refqueue's points): a
// listed point the recorder never consults would arm nothing, and a point
// missing from the list would be refused in scenarios.
std::set<std::string> PointsInSources() {
  std::set<std::string> points;
  const std::regex literal("\"((posix|linux|aftershock)/io/[a-z0-9_/]+)\"");
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(AFTERSHOCK_SOURCE_DIR) + "/injector")) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("calls_") || !name.ends_with(".cc")) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    for (std::sregex_iterator it(s.begin(), s.end(), literal), end; it != end; ++it) {
      points.insert((*it)[1].str());
    }
  }
  return points;
}

TEST(Faults, TheListedPointsAreThePointsInTheSources) {
  std::set<std::string> listed;
  for (size_t i = 0; i < kFaultPointCount; ++i) {
    EXPECT_TRUE(listed.insert(kFaultPoints[i]).second) << "listed twice: " << kFaultPoints[i];
  }
  std::set<std::string> in_sources = PointsInSources();
  EXPECT_GE(in_sources.size(), 30u) << "the sources were not found in " << AFTERSHOCK_SOURCE_DIR;
  EXPECT_EQ(listed, in_sources);
}

TEST(Faults, KnownPointsAreListedNamesOrGroupsThatMatchOne) {
  EXPECT_TRUE(IsKnownPoint("posix/io/sync/fsync"));
  EXPECT_TRUE(IsKnownPoint("posix/io/rw/write/reduce"));
  EXPECT_TRUE(IsKnownPoint("posix/io/*"));
  EXPECT_TRUE(IsKnownPoint("*"));
  EXPECT_FALSE(IsKnownPoint("posix/io/sync/fsnyc"));
  EXPECT_FALSE(IsKnownPoint("posix/io/syncc/*"));
  EXPECT_FALSE(IsKnownPoint("refqueue/enqueue/after-fsync"));
}

TEST(Modules, MapsLineIsParsed) {
  std::string line =
      "7f0a1c000000-7f0a1c022000 r-xp 00002000 fe:01 1234567                    "
      "/usr/lib/x86_64-linux-gnu/libc.so.6";
  MapsLine l;
  ASSERT_TRUE(ParseMapsLine(line.data(), line.size(), &l));
  EXPECT_EQ(l.start, 0x7f0a1c000000u);
  EXPECT_EQ(l.end, 0x7f0a1c022000u);
  EXPECT_EQ(l.offset, 0x2000u);
  EXPECT_TRUE(l.exec);
  EXPECT_EQ(std::string(l.path, l.path_len), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_TRUE(IsRuntimeModule(l.path, l.path_len));
}

TEST(Modules, AnonymousMappingHasNoPath) {
  std::string line = "7ffd5e1f0000-7ffd5e211000 rw-p 00000000 00:00 0";
  MapsLine l;
  ASSERT_TRUE(ParseMapsLine(line.data(), line.size(), &l));
  EXPECT_FALSE(l.exec);
  EXPECT_EQ(l.path_len, 0u);
}

TEST(Modules, TheProgramIsNotARuntimeModule) {
  const char* p = "/usr/bin/mv";
  EXPECT_FALSE(IsRuntimeModule(p, std::strlen(p)));
  const char* q = "/opt/x/libaftershock_inject.so";
  EXPECT_TRUE(IsRuntimeModule(q, std::strlen(q)));
}

// Code bytes placed in a page-aligned buffer at `offset`, so that the
// buffer's 16-byte boundaries are those the code had in its library.
struct CodePage {
  explicit CodePage(std::initializer_list<unsigned char> code, uint64_t offset) {
    std::memset(bytes, 0xcc, sizeof bytes);
    std::copy(code.begin(), code.end(), bytes + offset);
  }
  uint64_t At(uint64_t offset) const { return reinterpret_cast<uint64_t>(bytes) + offset; }
  alignas(4096) unsigned char bytes[4096];
};

TEST(InsnLength, KnowsTheInstructionsOfLibcsWrappers) {
  const unsigned char cmp_rax[] = {0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff};        // cmp $-4096,%rax
  const unsigned char ja8[] = {0x77, 0x5b};                                    // ja rel8
  const unsigned char mov_rip[] = {0x48, 0x8b, 0x15, 0xc9, 0x5c, 0x0d, 0x00};  // mov x(%rip),%rdx
  const unsigned char fs_store[] = {0x64, 0x89, 0x02};  // mov %eax,%fs:(%rdx)
  const unsigned char mov_imm[] = {0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff};  // mov $-1,%rax
  const unsigned char nopw[] = {0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0};  // cs nopw
  const unsigned char sib[] = {0x48, 0x89, 0x54, 0x24, 0x18};  // mov %rdx,0x18(%rsp)
  const unsigned char call[] = {0xe8, 0x49, 0xd5, 0xf8, 0xff};
  EXPECT_EQ(InsnLength(cmp_rax), 6u);
  EXPECT_EQ(InsnLength(ja8), 2u);
  EXPECT_EQ(InsnLength(mov_rip), 7u);
  EXPECT_EQ(InsnLength(fs_store), 3u);
  EXPECT_EQ(InsnLength(mov_imm), 7u);
  EXPECT_EQ(InsnLength(nopw), 10u);
  EXPECT_EQ(InsnLength(sib), 5u);
  EXPECT_EQ(InsnLength(call), 5u);
  const unsigned char unknown[] = {0xd8, 0xc1};  // an x87 instruction: not known here
  EXPECT_EQ(InsnLength(unknown), 0u);
}

// glibc 2.36's read(2): `xor %eax,%eax; syscall` at +9, then cmp, ja, ret
// and ten bytes of padding up to +32. The hop is the padding at +22.
TEST(InsnLength, FindsThePaddingAfterARet) {
  CodePage read({0x80, 0x3d, 0x31, 0x33, 0x0e, 0x00, 0x00, 0x74, 0x17, 0x31, 0xc0, 0x0f,
                 0x05, 0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, 0x77, 0x5b, 0xc3, 0x66, 0x2e,
                 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x83, 0xec, 0x28},
                0xa0);
  EXPECT_EQ(FindHop(read.At(0xa0 + 13), read.At(0xa0 + 11 + 127)), read.At(0xa0 + 22));
  EXPECT_EQ(FindHop(read.At(0xa0 + 13), read.At(0xa0 + 21)), 0u) << "beyond the limit";
  // Once taken, the hop holds a jump and the rest of a no-op: a second
  // site near it finds no hop there, and nothing after it.
  const unsigned char jmp[] = {0xe9, 0x11, 0x22, 0x33, 0x44};
  std::memcpy(read.bytes + 0xa0 + 22, jmp, sizeof jmp);
  EXPECT_EQ(FindHop(read.At(0xa0 + 13), read.At(0xa0 + 11 + 127)), 0u);
}

// A byte c3 that ends another instruction (mov %eax,%ebx is 89 c3) is no
// `ret`, and the no-ops after it are executed: never a hop. Nor is padding
// too short for a jump, nor anything after an instruction not known here.
TEST(InsnLength, TakesNoPaddingThatRunsOrIsShort) {
  CodePage mov_ebx({0x89, 0xc3, 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x1f, 0x40, 0x00,
                    0x90, 0xc3, 0xcc, 0xcc, 0xcc},
                   0x100);
  EXPECT_EQ(FindHop(mov_ebx.At(0x100), mov_ebx.At(0x180)), 0u);
  CodePage short_pad({0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff, 0x77, 0x04, 0xc3, 0x0f, 0x1f,
                      0x00, 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xc3, 0xcc},
                     0x104);
  EXPECT_EQ(FindHop(short_pad.At(0x104), short_pad.At(0x180)), 0u);
  CodePage unknown({0xd8, 0xc1, 0xc3, 0x0f, 0x1f, 0x40, 0x00, 0x0f, 0x1f, 0x40, 0x00}, 0x205);
  EXPECT_EQ(FindHop(unknown.At(0x205), unknown.At(0x280)), 0u);
}

}  // namespace
}  // namespace aftershock::inject
