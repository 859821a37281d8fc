"""pyq: a tiny queue in Python, for the harness's own tests of the fork
server's deferred serving point (aftershock_fork_server.serve()).

One file per message (first line: recipients), written under incoming/,
fsynced, renamed into queue/ and the directory fsynced. Delivery hands each
copy to the sink ($AFTERSHOCK_SINK) and records done recipients in
queue/ID.done. PYQ_BUG=no-dir-fsync leaves out the fsync of queue/ after
the rename (a power loss may lose an acknowledged message).
"""

import os
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import aftershock_fork_server  # noqa: E402

aftershock_fork_server.serve()


def fsync_path(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def enqueue():
    ident = os.environ["AFTERSHOCK_ID"]
    body = sys.stdin.buffer.read()
    tmp = os.path.join("incoming", ident)
    with open(tmp, "wb") as f:
        rcpts = shlex.split(os.environ["AFTERSHOCK_RCPTS"])  # shell-quoted
        f.write(" ".join(rcpts).encode() + b"\n" + body)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join("queue", ident))
    if os.environ.get("PYQ_BUG") != "no-dir-fsync":
        fsync_path("queue", directory=True)


def deliver():
    for name in sorted(os.listdir("queue")):
        if name.endswith(".done"):
            continue
        path = os.path.join("queue", name)
        with open(path, "rb") as f:
            rcpts = f.readline().decode().split()
            body = f.read()
        done_path = path + ".done"
        done = open(done_path).read().split() if os.path.exists(done_path) else []
        for rcpt in rcpts:
            if rcpt in done:
                continue
            subprocess.run([os.environ["AFTERSHOCK_SINK"], rcpt], input=body, check=True)
            with open(done_path, "a") as f:
                f.write(rcpt + "\n")
                f.flush()
                os.fsync(f.fileno())
        os.unlink(path)
        if os.path.exists(done_path):
            os.unlink(done_path)


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "init":
        os.makedirs("incoming", exist_ok=True)
        os.makedirs("queue", exist_ok=True)
    elif command == "enqueue":
        enqueue()
    elif command == "deliver":
        deliver()
    elif command == "recover":
        for name in os.listdir("incoming"):
            os.unlink(os.path.join("incoming", name))
    else:
        print("pyq: unknown command " + command, file=sys.stderr)
        return 64
    return 0


if __name__ == "__main__":
    # Every file is closed: no teardown needed (aftershock_fork_server.exit).
    aftershock_fork_server.exit(main(sys.argv))
