// [promises] end to end: `check` tests a restart (and a delivery) beside an
// enqueue only when the manifest promises it. refqueue's stale-ignores-age
// bug loses mail only when its recovery runs beside an enqueue: found by
// default (Postfix's promise), skipped with a note when not promised.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "tests/harness/cli_util.h"
#include "tests/harness/test_util.h"

namespace aftershock::testing {
namespace {

// refqueue's manifest with `extra` appended, in the scratch directory.
std::string Refqueue(const ScratchDir& dir, const std::string& extra) {
  std::ifstream in(std::string(AFTERSHOCK_SOURCE_DIR) + "/targets/refqueue.toml");
  std::stringstream text;
  text << in.rdbuf();
  return dir.Write("refqueue.toml", text.str() + "\n" + extra);
}

Result Check(const ScratchDir& dir, const std::string& manifest, const std::string& out) {
  return Aftershock("check --target " + manifest + " --env REFQUEUE_BUG=stale-ignores-age" +
                    " --model process -j 2 --out " + dir.path() + "/" + out);
}

TEST(Promises, ARestartBesideAnEnqueueIsTestedOnlyWhenPromised) {
  ScratchDir dir;
  Result promised = Check(dir, Refqueue(dir, ""), "default");
  EXPECT_EQ(promised.status, 1) << promised.output;
  EXPECT_NE(promised.output.find("restart ran beside"), std::string::npos) << promised.output;

  Result not_promised =
      Check(dir, Refqueue(dir, "[promises]\nrecover_beside_enqueue = false\n"), "no-beside");
  EXPECT_EQ(not_promised.status, 0) << not_promised.output;
  EXPECT_NE(not_promised.output.find("check-concurrent: a restart beside an enqueue skipped: "
                                     "refqueue does not promise it ([promises] "
                                     "recover_beside_enqueue = false)"),
            std::string::npos)
      << not_promised.output;
  // The delivery beside the other enqueue is still promised, and run.
  EXPECT_NE(not_promised.output.find("check-concurrent "), std::string::npos)
      << not_promised.output;
}

TEST(Promises, NeitherPromisedDropsTheConcurrentWorkloadAndABadValueIsAnError) {
  ScratchDir dir;
  Result none = Aftershock(
      "check --target " +
      Refqueue(dir, "[promises]\nrecover_beside_enqueue = false\ndeliver_beside_enqueue = false\n") +
      " --model process -j 2 --out " + dir.path() + "/none");
  EXPECT_EQ(none.status, 0) << none.output;
  EXPECT_NE(none.output.find("a delivery beside an enqueue skipped"), std::string::npos);
  EXPECT_EQ(none.output.find("check-concurrent  "), std::string::npos) << none.output;
  Result bad = Aftershock("check --target " +
                          Refqueue(dir, "[promises]\nrecover_beside_enqueue = \"no\"\n") +
                          " --out " + dir.path() + "/bad");
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("'recover_beside_enqueue' must be true or false"), std::string::npos)
      << bad.output;
  Result unknown = Aftershock("check --target " +
                              Refqueue(dir, "[promises]\nrecover_beside_deliver = true\n") +
                              " --out " + dir.path() + "/unknown");
  EXPECT_EQ(unknown.status, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("recover_beside_deliver"), std::string::npos) << unknown.output;
}

}  // namespace
}  // namespace aftershock::testing
