// Fork servers (docs/injector.md, "Fork server"; issue 17): a command that
// runs one dynamically linked program is started by forking a copy of that
// program held just before its own constructors and main, instead of by
// exec. The dynamic loader's work (mapping, relocating, the libraries'
// constructors) is then paid once per server, not once per command.
//
// A server is the program started with libaftershock_forkserver.so
// preloaded (fork_server_preload.cc), in the sandbox, in a session of its
// own. It clones each child with CLONE_PARENT: the child is this process's
// own (registered as SpawnChild's are), so waiting, timeouts, process groups
// and control groups work as for an exec'd command. Servers are pooled by
// program and loader environment (the LD_* variables), one request at a
// time each; a server that is gone is replaced. They end when this process
// closes its end (StopForkServers, or its exit: a SIGKILLed harness leaves
// none behind).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace aftershock {

class CommandGroup;

// True iff `exe` can be served: a readable dynamically linked ELF
// executable (PT_INTERP), and the server library is found.
bool ForkServable(const std::string& exe);

struct ForkRequest {
  std::vector<std::string> argv;  // argv[0]: the program's absolute path
  std::vector<std::string> env;   // NAME=value, exactly the command's
  std::string cwd;
  bool network = false;  // keep the machine's network in the sandbox
  // The program serves from the point it marks itself, after its start-up
  // work (aftershock_fork_server_serve), not from before its main. Servers
  // are then told apart by the words up to the script too (the first word
  // after the program that is not an option): `python3 -u queue.py`.
  bool deferred = false;
  int in_fd = -1, out_fd = -1;
  CommandGroup* group = nullptr;  // joined before the child runs, when set
};

// Starts the command through a server: the child's pid, running (it has
// joined `group`), registered as this process's child (WaitChild reaps
// it). -1, with *error, when no server could start it; the caller execs
// instead. Thread-safe.
pid_t ForkFromServer(const ForkRequest& request, std::string* error);

// Closes every idle server and reaps it (KillLeftovers calls it: a server
// is not a process a command left behind). Servers in use stay.
void StopForkServers();

// The pids of the idle servers, and how many servers were started, for
// tests. A server that does not get to serve (it exits, or does not serve
// within 10 s) is not started again for the same program and loader
// environment: its commands are exec'd.
std::vector<pid_t> ForkServerPids();
size_t ForkServersStarted();

// Path of libaftershock_forkserver.so: $AFTERSHOCK_FORKSERVER_LIB, the
// build tree's, or the installed one.
std::string ForkServerLibPath();

}  // namespace aftershock
