#!/usr/bin/env bash
# Configures (once) and builds aftershock into ./build. Used by main.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache (when meson finds it) shares compiled objects between clones and
# between runs: paths are made relative to the checkout, and the directory
# a clone sits in is not part of the hash.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
if [[ ! -f build/build.ninja ]]; then
  meson setup build >/dev/null
else
  meson setup --reconfigure build >/dev/null
fi
ninja -C build >/dev/null || ninja -C build
