#!/usr/bin/env bash
# Unique crash states checked per second by `aftershock run` on refqueue,
# with the fork server (the manifest's default) and without it
# (commands.fork_server = false), next to the floor measured in the same
# run: a shell loop that only copies each (already materialized) crash
# state and runs `refqueue recover` and `refqueue deliver` on it.
# Ratio = aftershock / floor.
#
#   bench/harness_bench.sh AFTERSHOCK HARNESS_STATES REFQUEUE SINK MANIFEST
#   (or: ninja -C build bench-harness)
#   env: MESSAGES (20), EVERY (4: a delivery after every EVERY messages),
#        MODEL (posix), JOBS (1), RUNS (3: best of)
#
# The workload: MESSAGES messages (alternately to alice@local and to
# alice@local + bob@remote, 700 B bodies) with a delivery after every EVERY.
# aftershock's rate counts the exploration only (report.json's seconds for
# the model: materialize, recover, drain, check); the whole run's rate
# (recording and reports too) is printed beside it. Scratch on tmpfs.
set -euo pipefail
aftershock=${1:?aftershock} states=${2:?harness_states} refqueue=${3:?refqueue}
sink=${4:?aftershock-sink} manifest=${5:?targets/refqueue.toml}
messages=${MESSAGES:-20} every=${EVERY:-4} model=${MODEL:-posix} jobs=${JOBS:-1} runs=${RUNS:-3}
scratch=$(mktemp -d /dev/shm/aftershock-bench-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
now=1700000000

scen=$scratch/bench.toml
{
  echo "target = \"$manifest\""
  echo "models = [\"$model\"]"
  echo "clock_start = $now"
  for ((i = 1; i <= messages; i++)); do
    if ((i % 2)); then r='["alice@local"]'; else r='["alice@local", "bob@remote"]'; fi
    printf '[[step]]\nkind = "enqueue"\nrcpts = %s\nbody_size = 700\n' "$r"
    if ((i % every == 0 || i == messages)); then printf '[[step]]\nkind = "deliver"\n'; fi
  done
} >"$scen"
# The same workload with every command exec'd.
sed 's/^\[commands\]$/[commands]\nfork_server = false/' "$manifest" >"$scratch/exec.toml"
sed "s|^target = .*|target = \"$scratch/exec.toml\"|" "$scen" >"$scratch/bench-exec.toml"
grep -q '^fork_server = false' "$scratch/exec.toml" || { echo "no [commands] in $manifest" >&2; exit 2; }

# The states the floor works on: those aftershock recovers, materialized.
n=$("$states" "$scen" "$model" "$sink" "$scratch/m" | tail -1)

# "WALL CPU" of "$@": wall seconds and user+sys CPU seconds (children
# included). CPU time is the steadier figure on a loaded machine.
measure() {
  local line
  line=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -1)
  awk -v l="$line" 'BEGIN { split(l, f, " "); print f[1], f[2] + f[3] }'
}

# The floor: copy, recover, deliver ($1 = 1: also the drain round aftershock
# runs, a second deliver after one that delivered something).
floor_loop() {
  local drain=$1 w=$scratch/w d
  export REFQUEUE_FANOUT=workfile REFQUEUE_BUG= REFQUEUE_STALE_AFTER=3600
  for d in "$scratch"/m/states/*/; do
    mkdir -p "$w"
    cp -a "$d" "$w/root"
    export AFTERSHOCK_SINK_LOG=$w/sink.log
    "$refqueue" --root "$w/root" --now "$now" recover >/dev/null 2>&1 || true
    "$refqueue" --root "$w/root" --now "$now" deliver --sink "$sink" >/dev/null 2>&1 || true
    if ((drain)) && [[ -s $w/sink.log ]]; then
      "$refqueue" --root "$w/root" --now "$now" deliver --sink "$sink" >/dev/null 2>&1 || true
    fi
    rm -rf "$w"
  done
}
# $jobs loops side by side over disjoint shares, like aftershock's workers.
floor() {
  local drain=$1 k
  if ((jobs == 1)); then
    floor_loop "$drain"
    return
  fi
  local all=("$scratch"/m/states/*/)
  for ((k = 0; k < jobs; k++)); do
    (
      scratch_k=$scratch/j$k
      mkdir -p "$scratch_k/m/states"
      for ((i = k; i < ${#all[@]}; i += jobs)); do ln -s "${all[i]}" "$scratch_k/m/states/$i"; done
      scratch=$scratch_k floor_loop "$drain"
    ) &
  done
  wait
}
# aftershock, the floor and the floor with the drain round take turns, run
# after run, so that a change in the machine's load hits all three alike;
# each keeps its best (least wall) run.
aftershock_run() { "$aftershock" run "$1" -q -j "$jobs" --out "$scratch/out" || true; }
explored() {
  python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["scenarios"][0]["models"][0]
print(m["states_recovered"], m["seconds"])' "$scratch/out/report.json"
}
as_runs=() exec_runs=() floor_runs=() drain_runs=()
for ((r = 0; r < runs; r++)); do
  line=$(measure aftershock_run "$scen")
  as_runs+=("$line $(explored)")
  line=$(measure aftershock_run "$scratch/bench-exec.toml")
  exec_runs+=("$line $(explored)")
  floor_runs+=("$(measure floor 0)")
  drain_runs+=("$(measure floor 1)")
done
pick() { printf '%s\n' "$@" | sort -g | head -1; }
read -r as_total_secs as_cpu rec as_secs <<<"$(pick "${as_runs[@]}")"
read -r ex_total_secs ex_cpu _ ex_secs <<<"$(pick "${exec_runs[@]}")"
read -r floor_secs floor_cpu <<<"$(pick "${floor_runs[@]}")"
read -r drain_secs drain_cpu <<<"$(pick "${drain_runs[@]}")"
if [[ "$rec" != "$n" ]]; then
  echo "note: aftershock recovered $rec states, the floor has $n" >&2
fi

echo "refqueue, $messages messages with a delivery after every $every, model $model, $jobs job(s), best of $runs"
echo "unique crash states checked: $n (aftershock recovered $rec)"
awk -v n="$n" -v a="$as_secs" -v t="$as_total_secs" -v ac="$as_cpu" -v f="$floor_secs" \
  -v fc="$floor_cpu" -v d="$drain_secs" -v dc="$drain_cpu" -v e="$ex_secs" -v et="$ex_total_secs" \
  -v ec="$ex_cpu" 'BEGIN {
  printf "%-44s %8s %11s %8s %11s\n", "", "wall s", "states/s", "CPU s", "states/CPU s"
  printf "%-44s %8.2f %11.1f\n", "aftershock run: exploration", a, n / a
  printf "%-44s %8.2f %11.1f %8.2f %11.1f\n", "aftershock run: whole (recording, reports)", t, n / t, ac, n / ac
  printf "%-44s %8.2f %11.1f\n", "without the fork server: exploration", e, n / e
  printf "%-44s %8.2f %11.1f %8.2f %11.1f\n", "without the fork server: whole", et, n / et, ec, n / ec
  printf "%-44s %8.2f %11.1f %8.2f %11.1f\n", "floor: cp -a + recover + deliver", f, n / f, fc, n / fc
  printf "%-44s %8.2f %11.1f %8.2f %11.1f\n", "floor + the drain round aftershock runs", d, n / d, dc, n / dc
  printf "ratio aftershock / floor: %.2f wall (exploration), %.2f CPU (whole run)\n", f / a, fc / ac
  printf "ratio with / without the fork server: %.2f wall (exploration), %.2f CPU (whole run)\n", e / a, ec / ac
  printf "ratio aftershock / floor with the drain round: %.2f wall, %.2f CPU\n", d / a, dc / ac
}'
