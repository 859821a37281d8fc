// What the launcher and its fork servers say to each other (fork_server.h):
// one SOCK_SEQPACKET message per request, fields as in fields.h (cwd,
// "1" or "0" for the network, the argument list, the environment list),
// with three descriptors (stdin, the output, the read end of the pipe that
// lets the child go); the answer is one int: the child's pid, or -errno.
#pragma once

#include <cstddef>

namespace aftershock::fork_wire {

inline constexpr int kFds = 3;
inline constexpr size_t kMaxRequest = 1 << 20;  // arguments and environment, encoded
// The server's socket descriptor, and the launcher's sandbox (SandboxSpec).
inline constexpr const char* kSocketEnv = "AFTERSHOCK_FORK_SERVER";
inline constexpr const char* kSandboxEnv = "AFTERSHOCK_FORK_SERVER_SANDBOX";
// "1": the program serves from aftershock_fork_server_serve(), called by
// the program itself, not from before its main.
inline constexpr const char* kDeferredEnv = "AFTERSHOCK_FORK_SERVER_DEFERRED";

}  // namespace aftershock::fork_wire
