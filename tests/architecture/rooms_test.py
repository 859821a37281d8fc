#!/usr/bin/env python3
"""The house's include rule (docs/architecture.md): in harness/, a room
includes only rooms before it in target, check, explore, fuzz, cli; nothing
in model/, injector/, reports/ or common/ includes harness/. Prints each
arrow that runs back up the house and exits 1; exits 0 when there is none."""
import os
import re
import sys

ORDER = ["target", "check", "explore", "fuzz", "cli"]
INCLUDE = re.compile(r'\s*#\s*include\s+"harness/([a-z_]+)/')


def sources(top):
    for root, _, files in os.walk(top):
        for f in sorted(files):
            if f.endswith((".cc", ".h", ".c")):
                yield os.path.join(root, f)


def main(src):
    bad = []
    for room in ORDER:
        for path in sources(os.path.join(src, "harness", room)):
            for n, line in enumerate(open(path, errors="replace"), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) in ORDER and ORDER.index(m.group(1)) > ORDER.index(room):
                    bad.append(f"{path}:{n}: room {room} includes room {m.group(1)}, above it")
    for low in ["model", "injector", "reports", "common"]:
        for path in sources(os.path.join(src, low)):
            for n, line in enumerate(open(path, errors="replace"), 1):
                if re.match(r'\s*#\s*include\s+"harness/', line):
                    bad.append(f"{path}:{n}: {low}/ includes harness/")
    loose = [f for f in os.listdir(os.path.join(src, "harness")) if f.endswith((".cc", ".h"))]
    bad += [f"harness/{f}: a source outside every room" for f in loose]
    print("\n".join(bad) if bad else "every include runs down the house")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
