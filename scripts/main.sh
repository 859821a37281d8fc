#!/usr/bin/env bash
# The main job: install what is missing, build, run the built-in scenarios
# against the reference queue and write reports to ./aftershock-out.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
exec build/harness/aftershock run --out aftershock-out "$@"
