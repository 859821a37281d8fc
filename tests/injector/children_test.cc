// The orphans aftershock adopts are reaped at once (injector/children.h):
// a command that stops a daemon it started and waits for it with
// `kill -0 PID` (Postfix's stop, most init scripts) sees it gone, where a
// zombie would make it wait forever. The commands aftershock forks itself
// keep their exit status.
#include "injector/children.h"

#include <gtest/gtest.h>

#include "injector/launch.h"
#include "tests/injector/test_support.h"

namespace aftershock::testing {
namespace {

// The daemon is a grandchild whose parent exits at once: it is re-parented
// to this process (the subreaper). Killed, it must not stay a zombie.
constexpr const char* kStopsItsDaemon =
    "sh -c 'sleep 30 & echo $! > daemon.pid'; p=$(cat daemon.pid); kill $p; "
    "for i in $(seq 250); do kill -0 $p 2>/dev/null || exit 0; sleep 0.02; done; "
    "echo \"daemon $p still there\"; exit 7";

TEST(Children, AnAdoptedDaemonThatIsStoppedIsReapedAtOnce) {
  AdoptLeftovers();  // subreaper and orphan reaper, as a run does
  ScratchDir scratch;
  LaunchRequest o;
  o.command = kStopsItsDaemon;
  o.cwd = scratch.path();
  LaunchOutcome r = Launch(o);
  EXPECT_TRUE(r.Succeeded()) << r.Describe() << "\n" << r.output;
}

TEST(Children, OwnChildrenKeepTheirStatus) {
  AdoptLeftovers();
  for (int i = 0; i < 20; ++i) {  // the reaper runs beside every one of them
    LaunchRequest o;
    o.command = "exit " + std::to_string(i % 5);
    LaunchOutcome r = Launch(o);
    EXPECT_EQ(r.code, i % 5) << r.Describe();
  }
}

}  // namespace
}  // namespace aftershock::testing
