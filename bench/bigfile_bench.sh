#!/usr/bin/env bash
# The cost of a crash state against the bytes of a file it shares with the
# state before it (issue 17's series). One enqueue to refqueue that first
# writes an attachment of N MiB in 4 KiB writes (dd), then a delivery; model
# process, strategy prefix: one crash state per write. Prints, per size, the
# states recovered, the exploration's seconds (report.json) and ms per state,
# and the growth against the smallest size: linear in bytes means the time
# per state stays flat.
#
#   bench/bigfile_bench.sh AFTERSHOCK MANIFEST   (or: ninja -C build bench-bigfile)
#   env: SIZES ("1 4 16", MiB), JOBS (1), MODEL (process)
set -euo pipefail
aftershock=${1:?aftershock} manifest=${2:?targets/refqueue.toml}
sizes=${SIZES:-1 4 16} jobs=${JOBS:-1} model=${MODEL:-process}
scratch=$(mktemp -d /dev/shm/aftershock-bench-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

echo "refqueue: one enqueue that first writes N MiB in 4 KiB writes, then a delivery; model $model, strategy prefix, $jobs job(s)"
printf '%-8s %8s %10s %12s %14s\n' "MiB" "states" "explore s" "ms/state" "whole run s"
for mib in $sizes; do
  count=$((mib * 256))
  sed "s|^enqueue = .*|enqueue = \"dd if=/dev/zero of=attachment-{id} bs=4096 count=$count status=none \&\& refqueue enqueue --id {id} {rcpts}\"|" \
    "$manifest" >"$scratch/big.toml"
  grep -q "attachment-{id}" "$scratch/big.toml" || { echo "bench: could not rewrite the enqueue command of $manifest" >&2; exit 2; }
  cat >"$scratch/big-scen.toml" <<SCEN
target = "big.toml"
models = ["$model"]
strategy = "prefix"
[[step]]
kind = "enqueue"
rcpts = ["alice@local"]
body_size = 700
[[step]]
kind = "deliver"
SCEN
  start=$(date +%s.%N)
  "$aftershock" run "$scratch/big-scen.toml" -q -j "$jobs" --out "$scratch/out-$mib" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  python3 - "$scratch/out-$mib/report.json" "$mib" "$start" "$end" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["scenarios"][0]["models"][0]
n, s = m["states_recovered"], m["seconds"]
print(f"{sys.argv[2]:<8} {n:>8} {s:>10.2f} {1000 * s / max(n, 1):>12.2f} {float(sys.argv[4]) - float(sys.argv[3]):>14.2f}")
PY
done
