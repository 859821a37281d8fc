// Golden tests of the durability mechanisms (issue 13, docs/models.md,
// "Durability mechanisms"): each program of tests/mechanisms/ is a one-
// message maildir queue using one mechanism correctly or misusing it. Each
// runs through `aftershock run` under process, posix and ext4-ordered;
// the verdicts per model are asserted against the table below, the
// recording must replay to the real directory (no fidelity gap), and a
// correct use is never flagged under any model.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock {
namespace {

using testing::Aftershock;
using testing::ReadText;
using testing::RecordSupported;
using testing::Result;
using testing::ScratchDir;

const char* const kModels[] = {"process", "posix", "ext4-ordered"};
const char* const kViolations[] = {"lost", "corrupt", "phantom", "recovery-failed"};

// Violation kinds per model: `must` are found, nothing else is.
struct Expect {
  std::set<std::string> must;
};

struct Case {
  std::string program;  // tests/mechanisms/<program>.c, built as mech_<program>
  std::string variant;
  std::map<std::string, Expect> models;  // a model not listed: no violation
};

std::string CaseName(const Case& c) { return c.program + "/" + c.variant; }

// The misuses, with what each model must find (docs/models.md says why).
// Every correct use expects nothing under every model.
std::vector<Case> Cases() {
  const Expect none;
  const Expect lost{{"lost"}};
  // A damaged copy: corrupt, and the acknowledged message has no intact
  // copy (lost) in the states after the acknowledgement.
  const Expect corrupt{{"lost", "corrupt"}};
  auto good = [&](const std::string& p, const std::string& v) {
    return Case{p, v, {{"process", none}, {"posix", none}, {"ext4-ordered", none}}};
  };
  auto bad = [&](const std::string& p, const std::string& v, Expect posix, Expect ext4) {
    return Case{p, v, {{"process", none}, {"posix", posix}, {"ext4-ordered", ext4}}};
  };
  return {
      good("o_sync", "good"),
      good("o_sync", "good-dsync"),
      bad("o_sync", "bad", lost, lost),
      bad("o_sync", "bad-setfl", corrupt, corrupt),
      good("rwf_sync", "good"),
      bad("rwf_sync", "bad", corrupt, corrupt),
      good("o_direct", "good"),
      bad("o_direct", "bad", corrupt, corrupt),
      good("fsync_fd", "good-dup"),
      good("fsync_fd", "good-reopen"),
      good("fsync_fd", "good-child"),
      good("fsync_fd", "good-link"),
      bad("fsync_fd", "bad", corrupt, corrupt),
      good("whole_fs", "good-syncfs"),
      good("whole_fs", "good-sync"),
      bad("whole_fs", "bad-syncfs", lost, lost),
      bad("whole_fs", "bad-sync", lost, lost),
      good("sync_file_range", "good"),
      bad("sync_file_range", "bad", corrupt, corrupt),
      good("msync", "good"),
      good("msync", "good-fsync"),
      bad("msync", "bad", corrupt, corrupt),
      good("copy", "good-cfr"),
      good("copy", "good-sendfile"),
      good("copy", "good-splice"),
      bad("copy", "bad-cfr", corrupt, corrupt),
      bad("copy", "bad-sendfile", corrupt, corrupt),
      bad("copy", "bad-splice", corrupt, corrupt),
      good("fallocate", "good-alloc"),
      bad("fallocate", "bad-alloc", corrupt, corrupt),
      // punch.c, a spool freeing delivered entries: punch_test below.
      good("truncate", "good"),
      good("truncate", "good-path"),
      // ext4 journals the size change, and the directory fsync commits it.
      bad("truncate", "bad", corrupt, none),
      // go/main.go: the same queue in Go (fsync of the file, rename, fsync
      // of the directory), built with cgo here and static below.
      good("go", "good"),
      bad("go", "bad", lost, lost),
      bad("go", "bad-nosync", corrupt, corrupt),
  };
}

// A scenario of `target` under the three models: one enqueue to alice,
// then `more` (further steps).
std::string OneMessage(const ScratchDir& dir, const std::string& target, const std::string& more) {
  return dir.Write("one.toml", "target = \"" + target + R"("
models = ["process", "posix", "ext4-ordered"]
strategy = "omit-one"
seed = 13
[[step]]
kind = "enqueue"
rcpts = ["alice@local"]
body_size = 700
)" + more);
}

// Runs one enqueue of `program variant` as a maildir target; returns the
// exit status and report.json.
nlohmann::json RunOnce(const ScratchDir& dir, const std::string& program,
                       const std::string& variant, int* status) {
  std::string manifest = dir.Write("mechq.toml", R"(name = "mechq"
[commands]
init = "mkdir -p Maildir/tmp Maildir/new Maildir/cur"
enqueue = ")" + std::string(MECH_DIR) + "/mech_" + program +
                                                     " " + variant + R"( {id}"
timeout_s = 10
[mailbox]
kind = "maildir"
path = "Maildir"
)");
  std::string scenario = OneMessage(dir, "mechq.toml", "");
  std::string out = dir.path() + "/out";
  Result r = Aftershock("run " + scenario + " --jobs 1 -q --out " + out);
  *status = r.status;
  std::string text = ReadText(out + "/report.json");
  EXPECT_FALSE(text.empty()) << r.output;
  return text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text);
}

const nlohmann::json* ModelOf(const nlohmann::json& report, const std::string& model) {
  if (!report.contains("scenarios") || report["scenarios"].empty()) return nullptr;
  for (const auto& m : report["scenarios"][0]["models"]) {
    if (m["model"] == model) return &m;
  }
  return nullptr;
}

class Mechanism : public ::testing::TestWithParam<Case> {};

TEST_P(Mechanism, VerdictsPerModelAreTheTables) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  const Case& c = GetParam();
  ScratchDir dir;
  int status = -1;
  nlohmann::json report = RunOnce(dir, c.program, c.variant, &status);
  ASSERT_TRUE(report.contains("scenarios"));
  const nlohmann::json& s = report["scenarios"][0];
  ASSERT_EQ(s["error"], "") << CaseName(c);
  // The enqueue was acknowledged, and its recording replays to the real
  // directory with no gap.
  for (const auto& note : s["workload_notes"]) {
    EXPECT_EQ(note.get<std::string>().find("recorder gap"), std::string::npos) << note;
    EXPECT_EQ(note.get<std::string>().find("ended with status"), std::string::npos) << note;
  }
  bool any = false;
  for (const char* model : kModels) {
    const nlohmann::json* m = ModelOf(report, model);
    ASSERT_NE(m, nullptr) << CaseName(c) << " has no result under " << model;
    EXPECT_EQ((*m)["inconclusive"], false) << CaseName(c) << " / " << model << "\n" << m->dump(1);
    EXPECT_GT((*m)["states_unique"].get<int64_t>(), 0) << CaseName(c) << " / " << model;
    const Expect& want = c.models.at(model);
    for (const char* kind : kViolations) {
      int64_t n = (*m)["verdicts"][kind].get<int64_t>();
      any |= n > 0;
      if (want.must.count(kind)) {
        EXPECT_GT(n, 0) << CaseName(c) << " / " << model << ": expected '" << kind << "'";
      } else {
        EXPECT_EQ(n, 0) << CaseName(c) << " / " << model << ": unexpected '" << kind << "'\n"
                        << m->dump(1);
      }
    }
  }
  EXPECT_EQ(status, any ? 1 : 0) << CaseName(c);
}

std::string ParamName(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.program + "_" + info.param.variant;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Golden, Mechanism, ::testing::ValuesIn(Cases()), ParamName);

// The same programs linked static (mech_<p>_static), which LD_PRELOAD
// cannot reach: the ptrace recorder records them, and the table is the
// same. Not msync.c, whose stores through a shared mapping that recorder
// does not see (Gaps below), nor gap.c, whose stores neither recorder sees.
std::vector<Case> StaticCases() {
  std::vector<Case> cases;
  for (Case c : Cases()) {
    if (c.program == "msync" || c.program == "gap") continue;
    c.program += "_static";
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Static, Mechanism, ::testing::ValuesIn(StaticCases()), ParamName);

// punch.c: a spool that frees each delivered entry by punching a hole in it
// (or zeroing its range), enqueue then deliver. The misuse frees the entry
// durably before the copy in Maildir/new is durable: a power loss keeps the
// zeros and drops the copy (lost); a killed process loses nothing. Under
// ext4-ordered the punch is journaled after the copy's rename, so what is
// lost is the copy's data (delayed allocation): still lost.
struct SpoolCase {
  std::string variant;
  bool violates;
};

class Spool : public ::testing::TestWithParam<SpoolCase> {};

// True iff the file system holding `dir` implements FALLOC_FL_ZERO_RANGE.
bool ZeroRangeWorks(const std::string& dir) {
  std::string probe = dir + "/zero-range-probe";
  std::string cmd = ": > " + probe + " && fallocate -z -o 0 -l 4096 " + probe + " 2>/dev/null";
  bool ok = std::system(cmd.c_str()) == 0;
  std::remove(probe.c_str());
  return ok;
}

TEST_P(Spool, FreeingAnEntryAfterItsCopyIsDurable) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  const SpoolCase& c = GetParam();
  ScratchDir dir;
  // tmpfs (the default scratch) has no ZERO_RANGE: those runs use a disk
  // file system, through AFTERSHOCK_SCRATCH (docs/cli.md).
  std::string env, disk;
  if (c.variant.find("zero") != std::string::npos) {
    // The build directory: on a disk, unlike the tests' own /dev/shm.
    std::string tmpl = std::string(MECH_DIR) + "/scratch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    disk = tmpl;
    if (!ZeroRangeWorks(disk)) {
      std::filesystem::remove_all(disk);
      GTEST_SKIP() << disk << ": no FALLOC_FL_ZERO_RANGE here";
    }
    env = "AFTERSHOCK_SCRATCH=" + disk + " ";
  }
  const std::string prog = std::string(MECH_DIR) + "/mech_punch " + c.variant;
  dir.Write("spool.toml",
            "name = \"spool\"\n[commands]\n"
            "init = \"mkdir -p spool Maildir/tmp Maildir/new Maildir/cur\"\n"
            "enqueue = \"" +
                prog +
                " enqueue {id}\"\n"
                "deliver = \"" +
                prog +
                " deliver\"\ntimeout_s = 10\n"
                "[mailbox]\nkind = \"maildir\"\npath = \"Maildir\"\n");
  std::string scenario = OneMessage(dir, "spool.toml", "[[step]]\nkind = \"deliver\"\n");
  std::string out = dir.path() + "/out";
  Result r = testing::Shell(env + AFTERSHOCK_EXE " run " + scenario + " --jobs 1 -q --out " + out);
  if (!disk.empty()) std::filesystem::remove_all(disk);
  EXPECT_EQ(r.status, c.violates ? 1 : 0) << r.output;
  nlohmann::json report = nlohmann::json::parse(ReadText(out + "/report.json"));
  for (const char* model : kModels) {
    const nlohmann::json* m = ModelOf(report, model);
    ASSERT_NE(m, nullptr) << model;
    EXPECT_EQ((*m)["inconclusive"], false) << model;
    // Delivered in the recording: the copy the checker reads came through the spool.
    EXPECT_GT((*m)["verdicts"]["ok"].get<int64_t>(), 0) << model;
    const bool want = c.violates && std::string(model) != "process";
    EXPECT_EQ((*m)["verdicts"]["lost"].get<int64_t>() > 0, want) << model << m->dump(1);
    EXPECT_EQ((*m)["verdicts"]["corrupt"].get<int64_t>(), 0) << model;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, Spool,
                         ::testing::Values(SpoolCase{"good-punch", false},
                                           SpoolCase{"bad-punch", true},
                                           SpoolCase{"good-zero", false},
                                           SpoolCase{"bad-zero", true}),
                         [](const ::testing::TestParamInfo<SpoolCase>& info) {
                           std::string n = info.param.variant;
                           for (char& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

// A correct queue whose stores the recorder cannot see (gap.c: a mapping
// moved by mremap; msync_static: a mapping of a static binary, which the
// ptrace recorder does not follow) would look like a file of
// zeros, or no file, in every crash state. No state that depends on the gap
// is checked: no violation, the states counted as unproven with the reason,
// every model inconclusive, and the exit status 3 ("not proven").
void ExpectUnprovenNotViolated(const std::string& program, const std::string& variant,
                               const std::string& reason) {
  ScratchDir dir;
  int status = -1;
  nlohmann::json report = RunOnce(dir, program, variant, &status);
  ASSERT_TRUE(report.contains("scenarios"));
  EXPECT_EQ(status, 3) << report.dump(1);
  for (const char* model : kModels) {
    const nlohmann::json* m = ModelOf(report, model);
    ASSERT_NE(m, nullptr) << model;
    for (const char* kind : kViolations) {
      EXPECT_EQ((*m)["verdicts"][kind].get<int64_t>(), 0) << model << " " << kind << m->dump(1);
    }
    EXPECT_TRUE((*m)["groups"].empty()) << model;
    EXPECT_GT((*m)["states_unproven"].get<int64_t>(), 0) << model << m->dump(1);
    EXPECT_EQ((*m)["inconclusive"], true) << model;
    bool named = false;
    for (const auto& why : (*m)["inconclusive_reasons"]) {
      named |= why.get<std::string>().find(reason) != std::string::npos;
    }
    EXPECT_TRUE(named) << model << ": no reason names '" << reason << "'\n" << m->dump(1);
  }
}

// The static Go queue's finding blames its own line, the os.Rename in
// main.main (go/main.go), not Go's runtime: the ptrace recorder's call site
// is the first frame outside Go's runtime and standard library, and the
// symbolizer finds the line although Go writes no .debug_aranges.
void ExpectGoQueueBlamedOnItsOwnLine(const std::string& program) {
  ScratchDir dir;
  int status = -1;
  nlohmann::json report = RunOnce(dir, program, "bad", &status);
  EXPECT_EQ(status, 1);
  const nlohmann::json* m = ModelOf(report, "posix");
  ASSERT_NE(m, nullptr);
  ASSERT_FALSE((*m)["groups"].empty()) << m->dump(1);
  const nlohmann::json& culprit = (*m)["groups"][0]["evidence"]["culprit"];
  std::string file = culprit["file"].get<std::string>();
  EXPECT_EQ(culprit["function"], "main.main") << culprit.dump(1);
  EXPECT_TRUE(file.size() >= 11 && file.compare(file.size() - 11, 11, "/go/main.go") == 0)
      << culprit.dump(1);
  EXPECT_GT(culprit["line"].get<int>(), 0);
}

TEST(GoCulprit, TheStaticGoQueueIsBlamedOnItsOwnLine) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ExpectGoQueueBlamedOnItsOwnLine("go_static");
}

// The cgo build is recorded by the preload: Go's runtime makes its calls
// from the executable, with frame pointers.
TEST(GoCulprit, TheCgoQueueIsBlamedOnItsOwnLine) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ExpectGoQueueBlamedOnItsOwnLine("go");
}

// A static C queue built without frame pointers (-O2, Debian's default) is
// blamed on the line its dynamic build is blamed on, in its own code, not
// on libc's wrapper linked into it: the ptrace recorder finds the callers
// by a stack scan, as the preload does.
TEST(StaticCulprit, AStaticCQueueIsBlamedWhereItsDynamicBuildIs) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  nlohmann::json culprits[2];
  const char* programs[2] = {"fsync_fd", "fsync_fd_static"};
  for (int i = 0; i < 2; ++i) {
    ScratchDir dir;
    int status = -1;
    nlohmann::json report = RunOnce(dir, programs[i], "bad", &status);
    EXPECT_EQ(status, 1) << programs[i];
    const nlohmann::json* m = ModelOf(report, "posix");
    ASSERT_NE(m, nullptr);
    ASSERT_FALSE((*m)["groups"].empty()) << programs[i] << m->dump(1);
    culprits[i] = (*m)["groups"][0]["evidence"]["culprit"];
  }
  auto base = [](const nlohmann::json& c) {
    std::string f = c["file"].get<std::string>();
    return f.substr(f.find_last_of('/') + 1);
  };
  EXPECT_EQ(base(culprits[0]), "fsync_fd.c") << culprits[0].dump(1);
  EXPECT_EQ(base(culprits[1]), "fsync_fd.c") << culprits[1].dump(1);
  EXPECT_EQ(culprits[1]["stack_method"], "stack scan") << culprits[1].dump(1);
  EXPECT_EQ(culprits[1]["line"], culprits[0]["line"]) << culprits[1].dump(1);
  EXPECT_EQ(culprits[1]["function"], culprits[0]["function"]) << culprits[1].dump(1);
}

TEST(Gaps, UnrecordedStoresThroughAMovedMappingAreUnprovenNeverAViolation) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ExpectUnprovenNotViolated("gap", "mremap", "mremap of a shared file mapping");
}

TEST(Gaps, StoresThroughAMappingOfAStaticBinaryAreUnprovenNeverAViolation) {
  if (!RecordSupported()) GTEST_SKIP() << "needs the injector (aftershock record)";
  ExpectUnprovenNotViolated("msync_static", "good", "shared writable mapping");
}

}  // namespace
}  // namespace aftershock
