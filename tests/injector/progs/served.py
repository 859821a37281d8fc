"""Run by tests/injector/fork_server_test.cc exec'd and from a deferred fork
server (aftershock_fork_server.serve()): everything it prints must be the
same both ways but the last line, which says whether this process is not
the one that imported the module (a forked command)."""

import os
import sys

imported_by = os.getpid()

import aftershock_fork_server  # noqa: E402  (on PYTHONPATH)

aftershock_fork_server.serve()

print("args", sys.argv[1:])
print("env", os.environ.get("SERVED_VALUE"), "AFTERSHOCK_FORK_SERVER" in os.environ)
print("cwd", os.getcwd())
print("stdin", sys.stdin.read())
print("forked", imported_by != os.getpid())
aftershock_fork_server.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
