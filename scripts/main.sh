#!/usr/bin/env bash
# The main job: install what is missing, build, run the built-in scenarios
# against the reference queue and write reports to ./aftershock-out.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
if build/harness/aftershock run --help >/dev/null 2>&1; then
  exec build/harness/aftershock run --out aftershock-out "$@"
else
  # Until the harness lands: the reference queue's own demo.
  exec build/queue/refqueue-demo "$@"
fi
