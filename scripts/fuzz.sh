#!/usr/bin/env bash
# A fuzz campaign (docs/testing.md, "Fuzzing"): builds the libFuzzer target
# with clang, ASan and UBSan into ./build-fuzz, runs it niced for SECONDS over
# the seed corpus plus what earlier campaigns found, and prints exec/s and
# the corpus size. A crash input is left as build-fuzz/crash-*.
#
# Usage: scripts/fuzz.sh TARGET [SECONDS]   TARGET: trace manifest scenario report_json writers
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-600}
./scripts/setup.sh --fuzz
if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dcpp_args=-fsanitize=fuzzer-no-link -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C build-fuzz "tests/fuzz/${target}_fuzz" >/dev/null
corpus=build-fuzz/corpus/$target
mkdir -p "$corpus"
log=build-fuzz/fuzz-$target.log
# The seed corpus is read, never written: new inputs go to build-fuzz/corpus.
status=0
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  nice -n 19 "build-fuzz/tests/fuzz/${target}_fuzz" "$corpus" "tests/fuzz/corpus/$target" \
  -max_total_time="$seconds" -max_len=65536 -timeout=60 -rss_limit_mb=2048 \
  -artifact_prefix=build-fuzz/ -print_final_stats=1 >"$log" 2>&1 || status=$?
execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
size=$(find "$corpus" "tests/fuzz/corpus/$target" -type f | wc -l)
echo "fuzz $target: ${seconds}s, $execs executions, $rate exec/s, corpus $size files, exit $status (log: $log)"
exit $status
