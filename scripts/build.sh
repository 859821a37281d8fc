#!/usr/bin/env bash
# Configures (once) and builds aftershock into ./build. Used by main.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -f build/build.ninja ]]; then
  meson setup build >/dev/null
else
  meson setup --reconfigure build >/dev/null
fi
ninja -C build >/dev/null || ninja -C build
