// The protocol of docs/daemon-mode.md is language-neutral: the POSIX sh
// daemon shown there (toy_daemon.sh) speaks it.
#include <gtest/gtest.h>

#include <string>

#include "tests/thirdparty/test_util.h"

namespace aftershock::thirdparty_test {
namespace {

const std::string kToyDaemon = std::string(SOURCE_ROOT) + "/tests/thirdparty/toy_daemon.sh";

TEST(ToyDaemon, ShellScriptAnswersEveryRequestAndStoresExactBytes) {
  ScratchDir root;
  Child daemon(kToyDaemon, root.path(), {});
  std::string line;
  std::string m1 = "X-Aftershock-Id: m1\n\nline one\nline two\n";
  ASSERT_TRUE(daemon.Send("enqueue m1 a@local b@remote " + std::to_string(m1.size()) + "\n" + m1));
  ASSERT_TRUE(daemon.ReadLine(&line));
  EXPECT_EQ(line, "ok m1");
  ASSERT_TRUE(daemon.Send("nonsense\n"));
  ASSERT_TRUE(daemon.ReadLine(&line));
  EXPECT_EQ(line, "err - malformed request");
  ASSERT_TRUE(daemon.Send("enqueue m2 c@local 3\nabc"));
  ASSERT_TRUE(daemon.ReadLine(&line));
  EXPECT_EQ(line, "ok m2");
  EXPECT_EQ(daemon.CloseAndWait(), 0);
  EXPECT_EQ(ReadFile(root.path() + "/queue/m1"), "a@local b@remote\n" + m1);
  EXPECT_EQ(ReadFile(root.path() + "/queue/m2"), "c@local\nabc");
}

}  // namespace
}  // namespace aftershock::thirdparty_test
