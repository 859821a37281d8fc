#include "handoff.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "fs.h"

namespace refqueue {
namespace {

// Writes all of `content` to `fd`; false if the reader went away early.
bool Feed(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    content.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Picks the first name free in tmp/, new/ and cur/ and creates it in tmp/.
Status CreateCopy(const std::string& mailbox, const std::string& name, Fd* fd,
                  std::string* copy_name) {
  for (int n = 0;; ++n) {
    std::string candidate = n == 0 ? name : name + "." + std::to_string(n);
    struct stat st;
    bool taken = false;
    REFQUEUE_RETURN_IF_ERROR(StatPath(JoinPath(mailbox + "/new", candidate), &st, &taken));
    if (!taken)
      REFQUEUE_RETURN_IF_ERROR(StatPath(JoinPath(mailbox + "/cur", candidate), &st, &taken));
    if (!taken) {
      REFQUEUE_RETURN_IF_ERROR(
          CreateExclusive(JoinPath(mailbox + "/tmp", candidate), 0644, fd, &taken));
    }
    if (!taken) {
      *copy_name = candidate;
      return Status::Ok();
    }
  }
}

}  // namespace

Status RunSink(const std::string& sink, const std::vector<std::string>& rcpts,
               std::string_view content, bool* accepted) {
  *accepted = false;
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::string script = "exec " + sink + " \"$@\"";
  std::vector<const char*> argv = {"sh", "-c", script.c_str(), "refqueue-sink"};
  for (const std::string& rcpt : rcpts) argv.push_back(rcpt.c_str());
  argv.push_back(nullptr);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::IoError("pipe", errno);
  Fd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  pid_t pid = fork();
  if (pid < 0) return Status::IoError("fork", errno);
  if (pid == 0) {
    if (dup2(read_end.get(), STDIN_FILENO) < 0) _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execv("/bin/sh", const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  read_end = Fd();
  // A sink that exits without reading must not kill us with SIGPIPE.
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  bool fed = Feed(write_end.get(), content);
  write_end = Fd();
  sigaction(SIGPIPE, &old, nullptr);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Status::IoError("waitpid", errno);
  }
  *accepted = fed && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
  return Status::Ok();
}

Status MaildirDeliver(const Layout& layout, const std::string& rcpt, const std::string& name,
                      std::string_view content, const BugSet& bugs) {
  const std::string mailbox = layout.Mailbox(rcpt);
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    REFQUEUE_RETURN_IF_ERROR(EnsureDir(mailbox + sub));
  }
  Fd fd;
  std::string copy_name;
  REFQUEUE_RETURN_IF_ERROR(CreateCopy(mailbox, name, &fd, &copy_name));
  const std::string tmp_path = JoinPath(mailbox + "/tmp", copy_name);
  const std::string new_path = JoinPath(mailbox + "/new", copy_name);
  REFQUEUE_RETURN_IF_ERROR(WriteAll(fd.get(), content, tmp_path));
  REFQUEUE_FAULT_POINT("refqueue/maildir/after-write");
  const bool link_early = bugs.Has(Bug::kMaildirLinkBeforeFsync);
  // Prevents: new/ naming a torn or empty copy after a power loss.
  if (!link_early) REFQUEUE_RETURN_IF_ERROR(Fsync(fd.get(), tmp_path));
  REFQUEUE_FAULT_POINT("refqueue/maildir/after-fsync");
  bool exists = false;
  REFQUEUE_RETURN_IF_ERROR(Link(tmp_path, new_path, &exists));
  // Another process made this name after CreateCopy looked: not ours to touch.
  if (exists) return Status::IoError("link " + tmp_path + " -> " + new_path, EEXIST);
  REFQUEUE_FAULT_POINT("refqueue/maildir/after-link");
  // BUG: the fsync comes after the link; the name may reach the disk first.
  if (link_early) REFQUEUE_RETURN_IF_ERROR(Fsync(fd.get(), tmp_path));
  // Prevents: the done mark outliving the copy's name in new/ after a power
  // loss (the copy would be lost and never retried).
  if (!bugs.Has(Bug::kNoFsyncNew)) REFQUEUE_RETURN_IF_ERROR(SyncDir(mailbox + "/new"));
  REFQUEUE_FAULT_POINT("refqueue/maildir/after-new-fsync");
  // Not synced: a tmp/ name that comes back is removed by recover.
  return Unlink(tmp_path);
}

}  // namespace refqueue
