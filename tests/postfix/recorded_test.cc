// Postfix under the recorder, one step at a time (`aftershock record`):
// every process of Postfix's own is recorded (postdrop, and master's
// daemons, whose environment master clears), nothing is written outside
// the state directory (no call is flagged as an escape), and replaying each
// trace gives the directory Postfix left (the fidelity check).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kScript = std::string(SOURCE_ROOT) + "/targets/postfix/postfix.sh";
const std::string kMessage =
    "Message-ID: <m1@aftershock.invalid>\nX-Aftershock-Id: m1\nTo: alice@local\n\nhello\n";

// Records `args` of postfix.sh on root; returns `trace show` of the trace.
std::string Record(const ScratchDir& dir, const std::string& name, const std::string& args,
                   const std::string& input) {
  const std::string root = dir.path() + "/root";
  RunResult r = RunShell(std::string(AFTERSHOCK_EXE) + " record --root " + root + " --check -o " +
                             name + " -- " + kScript + " " + args,
                         dir.path(), {{"AFTERSHOCK_ROOT", root}}, input);
  EXPECT_EQ(r.status, 0) << args << "\n" << r.out << r.err;
  EXPECT_NE(r.err.find("replaying the trace reproduces"), std::string::npos) << r.err;
  RunResult show =
      RunShell(std::string(AFTERSHOCK_EXE) + " trace show " + name, dir.path(), {}, "");
  EXPECT_EQ(show.status, 0) << show.err;
  EXPECT_EQ(show.out.find("ESCAPE"), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("GAP"), std::string::npos) << show.out;
  return show.out;
}

// The Postfix programs a trace shows exec records of.
std::set<std::string> PostfixPrograms(const std::string& shown) {
  std::set<std::string> out;
  for (const char* p : {"/usr/sbin/sendmail", "/usr/sbin/postdrop", "/usr/sbin/postsuper",
                        "/sbin/master", "/sbin/pickup", "/sbin/cleanup", "/sbin/qmgr",
                        "/sbin/trivial-rewrite", "/sbin/virtual", "/sbin/smtpd"}) {
    if (shown.find(std::string(p) + "\")") != std::string::npos) out.insert(p);
  }
  return out;
}

TEST(PostfixRecorded, EveryProcessIsRecordedAndNothingEscapes) {
  if (::geteuid() != 0) GTEST_SKIP() << "Postfix's daemons change users: needs root";
  ScratchDir dir;
  // Postfix's daemons run as the user postfix: they must reach the root.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
  RunResult init = RunShell("mkdir root && " + kScript + " init", dir.path(),
                            {{"AFTERSHOCK_ROOT", dir.path() + "/root"}}, "");
  ASSERT_EQ(init.status, 0) << init.out << init.err;

  std::string sendmail = Record(dir, "t1", "sendmail alice@local", kMessage);
  EXPECT_EQ(PostfixPrograms(sendmail),
            (std::set<std::string>{"/usr/sbin/sendmail", "/usr/sbin/postdrop"}));
  EXPECT_NE(sendmail.find("queue/maildrop/"), std::string::npos);

  std::string deliver = Record(dir, "t2", "deliver", "");
  for (const char* p : {"/sbin/master", "/sbin/pickup", "/sbin/cleanup", "/sbin/qmgr",
                        "/sbin/trivial-rewrite", "/sbin/virtual", "/usr/sbin/postsuper"}) {
    EXPECT_TRUE(PostfixPrograms(deliver).count(p)) << p << " not recorded:\n" << deliver;
  }
  EXPECT_NE(deliver.find("mail/alice@local/new/"), std::string::npos);  // written by virtual(8)

  std::string smtp = Record(dir, "t3", "smtp bob@remote", kMessage);
  for (const char* p : {"/sbin/master", "/sbin/smtpd", "/sbin/cleanup"}) {
    EXPECT_TRUE(PostfixPrograms(smtp).count(p)) << p << " not recorded:\n" << smtp;
  }
  EXPECT_NE(smtp.find("queue/incoming/"), std::string::npos);
  Record(dir, "t4", "deliver", "");  // whatever the SMTP run left queued
  RunResult ls = RunShell("ls root/mail/*/new/* | wc -l", dir.path(), {}, "");
  EXPECT_EQ(ls.out, "2\n");
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() + "/root/mail/bob@remote/new"));
}

}  // namespace
}  // namespace aftershock::thirdparty_test
