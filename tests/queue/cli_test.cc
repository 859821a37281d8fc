// The `refqueue` command as the harness runs it: environment of the target
// contract, exit 0 only for what is durable, exit 2 for usage errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "bugs.h"
#include "fs.h"
#include "support.h"

namespace refqueue::testing {
namespace {

std::string RefqueueBin() {
  const char* from_env = getenv("REFQUEUE_BIN");
  if (from_env != nullptr) return from_env;
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "../../queue/refqueue")
      .string();
}

struct CommandRun {
  int exit_code = -1;  // -1: killed by a signal
  int signal = 0;
  std::string output;  // stdout and stderr
};

// Runs `argv` with `env` added to the environment and `input` on stdin.
CommandRun RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::string& input = "") {
  int in[2], out[2];
  EXPECT_EQ(pipe(in), 0);
  EXPECT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(in[1]);
    close(out[0]);
    for (const std::string& var : env) putenv(const_cast<char*>(var.c_str()));
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  // Small inputs only: they fit in the pipe before the child reads.
  EXPECT_TRUE(WriteAll(in[1], input, "stdin").ok());
  close(in[1]);
  CommandRun run;
  EXPECT_TRUE(ReadFd(out[0], "output", &run.output).ok());
  close(out[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (WIFEXITED(wstatus)) run.exit_code = WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) run.signal = WTERMSIG(wstatus);
  return run;
}

class CliTest : public ::testing::Test {
 protected:
  // The environment the harness gives every command of a target.
  std::vector<std::string> ContractEnv() const {
    Options options = sandbox_.MakeOptions(false);
    return {"AFTERSHOCK_ROOT=" + sandbox_.root(), "AFTERSHOCK_NOW=5000",
            "AFTERSHOCK_SINK=" + options.sink, "REFQUEUE_BUG="};
  }
  CommandRun Refqueue(std::vector<std::string> args, const std::string& input = "",
                      std::vector<std::string> extra_env = {}) {
    args.insert(args.begin(), RefqueueBin());
    std::vector<std::string> env = ContractEnv();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    return RunCommand(args, env, input);
  }
  Sandbox sandbox_;
};

TEST_F(CliTest, HelpNamesEveryBugVariantAndExitsZero) {
  CommandRun run = Refqueue({"--help"});
  EXPECT_EQ(run.exit_code, 0);
  for (const BugInfo& info : AllBugs()) {
    EXPECT_NE(run.output.find(std::string(info.name) + " "), std::string::npos) << info.name;
    EXPECT_NE(run.output.find(std::string(info.breaks)), std::string::npos) << info.name;
  }
}

TEST_F(CliTest, MissingSubcommandIsAUsageError) { EXPECT_EQ(Refqueue({}).exit_code, 2); }

TEST_F(CliTest, UnknownOptionIsAUsageError) {
  EXPECT_EQ(Refqueue({"deliver", "--frobnicate"}).exit_code, 2);
}

TEST_F(CliTest, EnqueueWithoutRecipientsIsAUsageError) {
  CommandRun run = Refqueue({"enqueue", "--id", "m1"}, "x");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(FilesUnder(sandbox_.root()).empty());
}

TEST_F(CliTest, BadRecipientIsAUsageErrorAndNothingIsQueued) {
  CommandRun run = Refqueue({"enqueue", "--id", "m1", "alice"}, "x");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("bad recipient 'alice'"), std::string::npos) << run.output;
  EXPECT_TRUE(FilesUnder(sandbox_.root()).empty());
}

TEST_F(CliTest, UnknownBugVariantInTheEnvironmentIsAUsageError) {
  CommandRun run = Refqueue({"recover"}, "", {"REFQUEUE_BUG=lose-everything"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.output.find("lose-everything"), std::string::npos) << run.output;
}

TEST_F(CliTest, UnknownFanoutIsAUsageError) {
  EXPECT_EQ(Refqueue({"enqueue", "--fanout", "carrier-pigeon", "a@local"}, "x").exit_code, 2);
}

TEST_F(CliTest, BadVirtualClockIsAUsageError) {
  EXPECT_EQ(Refqueue({"recover"}, "", {"AFTERSHOCK_NOW=yesterday"}).exit_code, 2);
}

TEST_F(CliTest, DeliverWithoutSinkOrMaildirIsAUsageError) {
  EXPECT_EQ(Refqueue({"deliver"}, "", {"AFTERSHOCK_SINK="}).exit_code, 2);
}

TEST_F(CliTest, UnwritableRootFailsWithExitOneAndNoAcknowledgement) {
  CommandRun run = Refqueue({"enqueue", "--root", "/proc/refqueue-no-such-root", "a@local"}, "x");
  EXPECT_EQ(run.exit_code, 1) << run.output;
}

TEST_F(CliTest, ContractEnvironmentDrivesInitEnqueueDeliverRecover) {
  const std::string message = MakeMessage("m7", {"a@local", "b@remote"}, 500);
  ASSERT_EQ(Refqueue({"init", "--queues", "local,remote"}).exit_code, 0);
  for (const char* fanout : {"workfile", "hardlink"}) {
    CommandRun enqueue = Refqueue({"enqueue", "a@local", "b@remote"}, message,
                                  {"AFTERSHOCK_ID=m7", std::string("REFQUEUE_FANOUT=") + fanout});
    ASSERT_EQ(enqueue.exit_code, 0) << enqueue.output;
  }
  EXPECT_TRUE(std::filesystem::exists(sandbox_.root() + "/incoming/5000.m7"));
  EXPECT_TRUE(std::filesystem::exists(sandbox_.root() + "/incoming/5000.m7.1"));
  ASSERT_EQ(Refqueue({"deliver"}).exit_code, 0);
  ASSERT_EQ(Refqueue({"recover"}).exit_code, 0);
  std::vector<Delivery> deliveries = sandbox_.Deliveries();
  ASSERT_EQ(deliveries.size(), 4u);
  for (const Delivery& delivery : deliveries) EXPECT_EQ(delivery.content, message);
}

TEST_F(CliTest, RecipientsComeFromAfterShockRcptsWhenNoneAreGiven) {
  const std::string message = MakeMessage("m6", {"a@local", "b@remote"}, 50);
  CommandRun run =
      Refqueue({"enqueue", "--id", "m6"}, message, {"AFTERSHOCK_RCPTS='a@local' \"b@remote\""});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_EQ(Refqueue({"deliver"}).exit_code, 0);
  std::vector<Delivery> deliveries = sandbox_.Deliveries();
  ASSERT_EQ(deliveries.size(), 2u);
  EXPECT_EQ(deliveries[0].rcpt, "a@local");
  EXPECT_EQ(deliveries[1].rcpt, "b@remote");
}

TEST_F(CliTest, UnbalancedQuoteInAfterShockRcptsIsAUsageError) {
  CommandRun run = Refqueue({"enqueue", "--id", "m6"}, "x", {"AFTERSHOCK_RCPTS='a@local"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_TRUE(FilesUnder(sandbox_.root()).empty());
}

TEST_F(CliTest, MaildirFlagDeliversIntoPerRecipientMaildirs) {
  const std::string message = MakeMessage("m8", {"a@local"}, 50);
  ASSERT_EQ(Refqueue({"enqueue", "--id", "m8", "a@local"}, message).exit_code, 0);
  ASSERT_EQ(Refqueue({"deliver", "--maildir"}, "", {"AFTERSHOCK_SINK="}).exit_code, 0);
  std::string copy;
  ASSERT_TRUE(ReadFile(sandbox_.root() + "/mail/a@local/new/5000.m8", &copy).ok());
  EXPECT_EQ(copy, message);
}

TEST_F(CliTest, FiuRunKillsTheCommandAtANamedFaultPoint) {
  if (access("/usr/bin/fiu-run", X_OK) != 0) GTEST_SKIP() << "fiu-run is not installed";
  CommandRun killed =
      RunCommand({"fiu-run", "-f", "", "-c", "enable name=refqueue/enqueue/after-fsync",
                  RefqueueBin(), "enqueue", "--id", "m9", "a@local"},
                 ContractEnv(), MakeMessage("m9", {"a@local"}, 10));
  if (killed.output.find("ASan runtime does not come first") != std::string::npos) {
    GTEST_SKIP() << "a sanitizer build cannot run under fiu-run's preload";
  }
#ifdef FIU_ENABLE
  EXPECT_EQ(killed.signal, SIGKILL) << killed.output;
  // Not acknowledged, and never marked complete: recover and deliver leave it.
  ASSERT_EQ(Refqueue({"recover"}).exit_code, 0);
  ASSERT_EQ(Refqueue({"deliver"}).exit_code, 0);
  EXPECT_TRUE(sandbox_.Deliveries().empty());
  EXPECT_EQ(FilesUnder(sandbox_.root() + "/incoming").size(), 1u);
#else
  EXPECT_EQ(killed.exit_code, 0) << "fault points are compiled out";
#endif
}

}  // namespace
}  // namespace refqueue::testing
