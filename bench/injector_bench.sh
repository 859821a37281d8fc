#!/usr/bin/env bash
# Prints, side by side in one run on the same workload, the wall time of:
# untraced, traced by aftershock (`aftershock record`), strace -f -e
# trace=%file,%desc (the way ALICE records), and fiu-run -x (libfiu's POSIX
# preload) -- as ratios to untraced. Scratch on tmpfs (/dev/shm).
#
#   bench/injector_bench.sh AFTERSHOCK WORKLOAD REFQUEUE [N [STATIC_WORKLOAD]]
#   (or: ninja -C build bench-injector)
#
# Workloads: "refqueue" runs N `refqueue enqueue` commands (two recipients,
# local and remote) and one `refqueue deliver` -- the workload the recorder
# is built for; "1 process" (injector_workload.c) makes N create/write/
# fsync/fchmod/rename enqueues and a delivery in one process, the worst case
# (every call pays the recorder, nothing else does any work); "1 proc static"
# is that program linked static: aftershock records it with ptrace, and
# fiu-run cannot reach it (its column then measures the program untouched).
set -euo pipefail
aftershock=${1:?aftershock executable}
workload=${2:?injector_workload executable}
refqueue=${3:?refqueue executable}
n=${4:-1000}
static_workload=${5:-}
runs=${RUNS:-3}
scratch=$(mktemp -d /dev/shm/aftershock-bench-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

have() { command -v "$1" >/dev/null 2>&1; }

# "WALL CPU": best-of-$runs wall seconds of "$@" (in a fresh queue dir), and
# the user+sys CPU seconds of that run (children included). CPU time is the
# steadier figure on a loaded machine.
measure() {
  local best="" best_cpu="" line
  for ((r = 0; r < runs; r++)); do
    rm -rf "$scratch/q" "$scratch/trace" "$scratch/trace.seq"
    mkdir -p "$scratch/q"
    line=$( { TIMEFORMAT='%R %U %S'; time "$@" >/dev/null 2>&1; } 2>&1 ) ||
      { echo "FAILED: $*" >&2; return 1; }
    read -r best best_cpu < <(awk -v l="$line" -v b="$best" -v c="$best_cpu" 'BEGIN {
      split(l, f, " "); if (b == "" || f[1] < b) { b = f[1]; c = f[2] + f[3] } print b, c }')
  done
  echo "$best $best_cpu"
}

one_process() { "$workload" "$scratch/q" "$n"; }
one_process_static() { "$static_workload" "$scratch/q" "$n"; }
refqueue_run() {
  "$refqueue" --root "$scratch/q" init --queues local,remote
  for ((i = 0; i < n; i++)); do
    "$refqueue" --root "$scratch/q" --now 1000 enqueue --id "m$i" a@local b@remote <"$scratch/msg"
  done
  "$refqueue" --root "$scratch/q" --now 1000 deliver --sink /bin/true
}
export -f one_process one_process_static refqueue_run
export workload static_workload refqueue scratch n
printf 'Subject: bench\n\n%s\n' "$(head -c 2048 /dev/zero | tr '\0' x)" >"$scratch/msg"

row() {
  local label=$1 fn=$2
  local base traced strace fiu
  base=$(measure bash -c "$fn")
  traced=$(measure "$aftershock" record --out "$scratch/trace" --root "$scratch/q" -- bash -c "$fn")
  if have strace; then
    strace=$(measure strace -f -e trace=%file,%desc -o /dev/null bash -c "$fn")
  else
    strace="nan nan"
  fi
  if have fiu-run; then fiu=$(measure fiu-run -x bash -c "$fn"); else fiu="nan nan"; fi
  line "$label wall" 1 "$base" "$traced" "$strace" "$fiu"
  line "$label cpu" 2 "$base" "$traced" "$strace" "$fiu"
}

# line LABEL FIELD "WALL CPU"x4: one row of figures and ratios.
line() {
  local label=$1 k=$2
  local b t s f
  b=$(echo "$3" | cut -d' ' -f"$k")
  t=$(echo "$4" | cut -d' ' -f"$k")
  s=$(echo "$5" | cut -d' ' -f"$k")
  f=$(echo "$6" | cut -d' ' -f"$k")
  awk -v l="$label" -v b="$b" -v t="$t" -v s="$s" -v f="$f" 'BEGIN {
    printf "%-20s %10.3f %10.3f (%5.2fx) %10.3f (%5.2fx) %10.3f (%5.2fx)\n", l, b, t, t / b, s, s / b, f, f / b
  }'
}

echo "workloads on tmpfs: refqueue = $n \`refqueue enqueue\` (2 recipients, 2 KiB) + a deliver;"
echo "  1 process = $n x (create, write 1 KiB, fsync, fchmod, close, rename) + a delivery pass"
echo "best of $runs runs: wall seconds, and CPU seconds (user+sys) of that run (ratio to untraced)"
printf "%-20s %10s %19s %19s %19s\n" "" "untraced" "aftershock" "strace -f" "fiu-run -x"
row "refqueue" refqueue_run
row "1 process" one_process
[[ -n "$static_workload" ]] && row "1 proc static" one_process_static
