// A library that remembers the pid of the process that loaded it, as some
// loggers do. Forked from a fork server, a program that uses it sees the
// server's pid: its constructor ran there (injector/fork_server.h).
#include <unistd.h>

static int loaded_by;

__attribute__((constructor)) static void Remember(void) { loaded_by = (int)getpid(); }

int pid_at_load(void) { return loaded_by; }
