#!/usr/bin/env bash
# Install what is missing, build, run every test. Ends with the line
# "N passed, N failed" (test cases: gtest cases and RapidCheck properties,
# plus one per non-gtest test). Exits non-zero when anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit 1
./scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }
# The SARIF validation test needs the official schema (an npm download, cached in build/).
./scripts/fetch-sarif-schema.sh build >/dev/null || echo "test.sh: could not fetch the SARIF schema; its test will fail" >&2
# Stale gtest XML from an earlier run must never be counted.
find build -maxdepth 1 -name "*.xml" -delete
# Integration tests run real programs: a loaded 2-core machine runs them
# several times slower than an idle one, so their time limits are scaled.
meson test -C build --print-errorlogs --num-processes "$(nproc)" --timeout-multiplier 3 "$@"
status=$?
python3 scripts/count_tests.py build/meson-logs || status=1
exit $status
