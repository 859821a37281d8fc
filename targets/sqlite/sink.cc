#include "targets/sqlite/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace aftershock::sqlite_queue {

Status RunSink(const std::string& sink, const std::vector<std::string>& rcpts,
               const std::string& message) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0)
    return Status::Error(std::string("pipe: ") + strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], 0);

  std::string script = "exec " + sink + " \"$@\"";
  std::vector<std::string> args = {"/bin/sh", "-c", script, "aftershock-sink"};
  args.insert(args.end(), rcpts.begin(), rcpts.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[0]);
  if (rc != 0) {
    close(pipe_fds[1]);
    return Status::Error(std::string("spawn sink: ") + strerror(rc));
  }
  // A short write (the sink stopped reading) is the sink's business: its
  // exit status alone says whether it accepted the copy.
  size_t done = 0;
  while (done < message.size()) {
    ssize_t n = write(pipe_fds[1], message.data() + done, message.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(pipe_fds[1]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::Error(std::string("wait sink: ") + strerror(errno));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  if (WIFSIGNALED(status)) {
    return Status::Error("sink killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return Status::Error("sink exited " + std::to_string(WEXITSTATUS(status)));
}

}  // namespace aftershock::sqlite_queue
