#!/usr/bin/env bash
# The sanitizer build (docs/testing.md): configures (once) and builds
# aftershock with AddressSanitizer and UndefinedBehaviorSanitizer into
# ./build-asan, runs every suite that can run under them, and ends with
# "N passed, N failed" for this build. Exits non-zero when anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
# ccache (when meson finds it) shares compiled objects between clones and
# between runs: paths are made relative to the checkout, and the directory
# a clone sits in is not part of the hash.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
./scripts/setup.sh || exit 1
# -Wno-maybe-uninitialized: with the sanitizers' instrumentation GCC 12
# warns falsely inside libstdc++'s <regex> (std::function in _State);
# every other warning stays an error, as in the plain build.
opts=(-Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-Wno-maybe-uninitialized)
if [[ ! -f build-asan/build.ninja ]]; then
  meson setup build-asan "${opts[@]}" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
else
  meson setup --reconfigure build-asan "${opts[@]}" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C build-asan >/dev/null || ninja -C build-asan || { echo "0 passed, 1 failed"; exit 1; }
./scripts/fetch-sarif-schema.sh build-asan >/dev/null || echo "sanitize.sh: no SARIF schema; its test will fail" >&2
find build-asan -maxdepth 1 -name "*.xml" -delete
rm -f build-asan/meson-logs/testlog*

# verify_asan_link_order=0: our sanitized programs (refqueue, the sink, the
#   SQLite target) run with the recorder preloaded, so ASan's runtime is not
#   the first library; the recorder itself carries no ASan (meson.build).
# detect_leaks=1: leaks fail the run like any other finding.
# halt_on_error / abort_on_error: the first finding fails the test.
export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=1:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# ASan costs 2-3x in time; the suites' own timeouts are for the plain build.
# The suites that run an ASan-built target under the recorder are left to
# the plain build: ASan's runtime and the recorder's SIGSYS handler do not
# live together in one process (docs/testing.md, "The sanitizer build").
# The Postfix suite (Debian's Postfix, minutes per run) is the plain build's.
meson test -C build-asan --print-errorlogs --num-processes "$(nproc)" --timeout-multiplier 3 \
  --no-suite integration --no-suite mechanisms --no-suite thirdparty --no-suite postfix "$@"
status=$?
# The integration suite runs here too, with the sanitized harness driving
# the plain build's target programs (AFTERSHOCK_TARGETS_BUILD): the harness
# (explorer, checker, reports, sandbox, replay, fuzz) is what it exercises,
# and it keeps ASan. Left out: self-record (it records aftershock itself),
# slow and scale (shards, Slurm, the engines' examples: covered code at
# several times the cost), and mechanisms and thirdparty, which run this
# build's own programs (mech_*, the SQLite target under strace, where
# LeakSanitizer refuses to run) rather than the targets build's.
if ninja -C build harness/aftershock-sink queue/refqueue targets/sqlite/aftershock-sqlite-queue \
  >/dev/null 2>&1; then
  AFTERSHOCK_TARGETS_BUILD="$PWD/build" meson test -C build-asan --print-errorlogs \
    --num-processes "$(nproc)" --timeout-multiplier 3 --suite integration \
    --no-suite self-record --no-suite slow --no-suite scale --logbase testlog-recorded "$@" || status=1
else
  echo "sanitize.sh: no plain build (./build) for the target programs: the integration" \
    "suite did not run under ASan" >&2
  status=1
fi
python3 scripts/count_tests.py build-asan/meson-logs || status=1
exit $status
