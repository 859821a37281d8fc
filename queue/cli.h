// The `refqueue` command line, separate from main() so that tests can run it.
#ifndef REFQUEUE_CLI_H_
#define REFQUEUE_CLI_H_

#include <string>

namespace refqueue {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // I/O failure: nothing was acknowledged
inline constexpr int kExitUsage = 2;

// Runs `refqueue argv...`; the message comes from stdin (enqueue).
int RunCli(int argc, char** argv);

}  // namespace refqueue

#endif  // REFQUEUE_CLI_H_
