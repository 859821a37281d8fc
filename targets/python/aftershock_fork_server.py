"""The deferred serving point of aftershock's fork server, for Python targets.

A queue written in Python pays the interpreter's start and its imports in
every command aftershock runs on a crash state. With ``fork_server =
"deferred"`` under ``[commands]`` in its manifest, aftershock starts each
such command once as a server; the command calls ``serve()`` once its
imports are done, and every later run of it is a fork of that process
(docs/injector.md, "Fork server")::

    import json, os, sqlite3, sys      # the start-up worth sharing
    import aftershock_fork_server
    aftershock_fork_server.serve()     # before reading sys.argv or os.environ
    main(sys.argv)

``serve()`` returns at once when the command is not run by a fork server
(by hand, or with the fork server off). In a forked command it returns with
``sys.argv``, ``os.environ``, the working directory and stdin, stdout and
stderr those of the command. Call it before starting threads, opening files
or writing output: they would be the server's.

A forked interpreter's teardown writes to every object it inherited, and
each such write copies a page: it can cost more than the start it saved
(measured on a small queue: 55 ms forked against 47 ms exec'd). A command
that has closed its files may end with ``aftershock_fork_server.exit(code)``
instead of ``sys.exit(code)``: it flushes stdout and stderr and ends the
process without the teardown (18 ms). It skips ``atexit`` handlers and
``finally`` blocks still pending, and data buffered in files left open is
lost, as with ``os._exit``.
"""

import ctypes
import gc
import os
import sys

_DEFERRED = "AFTERSHOCK_FORK_SERVER_DEFERRED"


def _strings(array):
    out = []
    i = 0
    while array[i] is not None:
        out.append(os.fsdecode(array[i]))
        i += 1
    return out


def serve():
    """Serves aftershock's requests from here; returns in each command."""
    if os.environ.get(_DEFERRED) != "1":
        return
    # PyDLL: the call keeps the GIL, so no other Python thread runs while
    # the server forks.
    process = ctypes.PyDLL(None)
    try:
        point = process.aftershock_fork_server_serve
    except AttributeError:  # not preloaded: not a fork server
        return
    # Every object so far stays out of the collector's way: a collection
    # would write to each (copy-on-write, in every child).
    gc.freeze()
    argv = ctypes.POINTER(ctypes.c_char_p)()
    point.argtypes = [ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))]
    point.restype = ctypes.c_int
    if point(ctypes.byref(argv)) != 1:
        return
    words = _strings(argv)
    # sys.argv: the command's words after the interpreter and its options,
    # which are the server's own (fork servers are told apart by them).
    sys.argv = words[len(sys.orig_argv) - len(sys.argv):]
    environ = _strings(ctypes.POINTER(ctypes.c_char_p).in_dll(process, "environ"))
    wanted = dict(entry.split("=", 1) for entry in environ if "=" in entry)
    for key in list(os.environ):
        if key not in wanted:
            del os.environ[key]
    for key, value in wanted.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def exit(code=0):
    """Flushes stdout and stderr and ends the process at once (os._exit)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else 1)
