#!/usr/bin/env bash
# scale-slurm (tests/scale/meson.build): a real Slurm on localhost
# (slurm_fixture.sh) runs docs/scale-out/slurm.sbatch, an array of 4 shards
# of the built-in scenarios, exactly as a user submits it; then
# `aftershock merge` makes one report whose verdicts must equal those of an
# unsharded run of the same scenarios.
#
#   bash tests/scale/slurm_test.sh AFTERSHOCK_BINARY SOURCE_DIR
#
# Needs root and Slurm (scripts/setup.sh); skips (77) when not root.
# AFTERSHOCK_SLURM_KEEP=1 keeps the temporary directory for a look.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 AFTERSHOCK_BINARY SOURCE_DIR" >&2
  exit 2
fi
aftershock=$(realpath "$1")
src=$(realpath "$2")
fixture=$(dirname "$(realpath "$0")")/slurm_fixture.sh
sbatch_script=$src/docs/scale-out/slurm.sbatch
shards=4

say() { echo "scale-slurm: $*" >&2; }
fail() {
  say "FAIL: $*"
  exit 1
}

if [[ $(id -u) -ne 0 ]]; then
  say "SKIP: needs root (the fixture runs Slurm with SlurmUser=root)"
  exit 77
fi
for tool in munged slurmctld slurmd sbatch sinfo python3; do
  command -v "$tool" >/dev/null || fail "$tool not found: run scripts/setup.sh"
done
[[ -x "$aftershock" ]] || fail "no aftershock binary at $aftershock"
[[ -r "$sbatch_script" ]] || fail "no $sbatch_script"

# This test may itself run inside a CI job or a Slurm job: none of their
# shard variables may reach the unsharded run or the tasks.
while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(SLURM_|SBATCH_|SALLOC_|SRUN_)' || true)
unset JOB_COMPLETION_INDEX CI_NODE_INDEX CI_NODE_TOTAL

tmp=$(mktemp -d /tmp/aftershock-slurm.XXXXXX)
chmod 711 "$tmp" # munged wants its socket's every directory searchable by all
cluster=$tmp/slurm
out_base=$tmp/shards
tasks=$tmp/tasks
mkdir -p "$tasks"

print_task_outputs() {
  local f
  for f in "$tasks"/*; do
    [[ -f "$f" ]] || continue
    echo "----- task output $f -----" >&2
    tail -n 80 "$f" >&2
  done
}

# Processes of this test left running: our daemons (their command lines
# name $tmp) and job steps of our cluster (our SLURM_CONF in their environment).
leftovers() {
  local p cmd
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ "$p" != "$$" && "$p" != "$BASHPID" ]] || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    if [[ "$cmd" == *"$tmp/"* ]] ||
      { [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == slurmstepd ]] &&
        tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qxF "SLURM_CONF=$cluster/slurm.conf"; }; then
      echo "$p $cmd"
    fi
  done
}

# Long commands run in the background while the script waits for them, so
# that a signal to this script is handled at once (bash defers traps while a
# foreground command runs, and timeout(1) puts itself in a process group of
# its own); cleanup ends the one running ($child).
child=""
run_child() {
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

cleanup() {
  local rc=$? left
  trap - EXIT INT TERM HUP
  set +e
  if [[ -n "$child" ]]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  ((rc == 0)) || print_task_outputs
  bash "$fixture" stop "$cluster" || rc=1
  left=$(leftovers)
  if [[ -n "$left" ]]; then
    say "FAIL: processes left running:"
    echo "$left" >&2
    rc=1
  fi
  if [[ "${AFTERSHOCK_SLURM_KEEP:-}" == 1 ]]; then
    say "kept $tmp"
  elif [[ -d "$tmp" && "$tmp" == /tmp/aftershock-slurm.* ]]; then
    rm -rf -- "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

t0=$SECONDS
say "starting Slurm in $cluster"
bash "$fixture" start "$cluster"
# shellcheck source=/dev/null
source "$cluster/env" # SLURM_CONF
sinfo >&2

say "submitting $sbatch_script (array of $shards) with sbatch --wait"
t1=$SECONDS
set +e
# The script's own #SBATCH lines are what is tested; only where its output
# goes is changed, so that nothing lands in the source tree. --time bounds
# every task; timeout bounds the whole wait (meson gives the test 900s).
# (The redirections are inside the background job: on a function call they
# would also catch the traps' output.)
timeout 720 sbatch --wait --parsable --chdir "$src" --time=12 \
  --output "$tasks/task-%A_%a.out" \
  --export="ALL,AFTERSHOCK=$aftershock,OUT_BASE=$out_base" \
  "$sbatch_script" >"$tmp/sbatch.out" 2>"$tmp/sbatch.err" &
child=$!
wait "$child"
sbatch_rc=$?
child=""
set -e
cat "$tmp/sbatch.err" >&2
jobid=$(head -n 1 "$tmp/sbatch.out" | cut -d';' -f1)
squeue -a >&2 || true
((sbatch_rc == 0)) || fail "sbatch --wait exited $sbatch_rc (job ${jobid:-?}): a task failed or timed out"
say "job $jobid: all tasks done in $((SECONDS - t1))s"

n=$(find "$tasks" -name "task-${jobid}_*.out" | wc -l)
((n == shards)) || fail "expected $shards task output files, found $n"
for ((k = 1; k <= shards; k++)); do
  [[ -s "$out_base/shard-$k/report.json" ]] || fail "task $k wrote no $out_base/shard-$k/report.json"
  # aftershock says on stderr which shard it took, and from where.
  grep -q SLURM_ARRAY_TASK_ID "$tasks/task-${jobid}_$k.out" ||
    fail "task $k's output does not say it took its shard from SLURM_ARRAY_TASK_ID"
done

say "merging: aftershock merge $out_base/shard-* --out $out_base/merged"
set +e
"$aftershock" merge "$out_base"/shard-* --out "$out_base/merged" 2>"$tmp/merge.err"
merge_rc=$?
set -e
cat "$tmp/merge.err" >&2

# merge refuses (exit 2, a reason on stderr) a missing or duplicated shard.
set +e
"$aftershock" merge "$out_base"/shard-{1,2,3} --out "$tmp/refused-missing" -q 2>"$tmp/refused.err"
missing_rc=$?
"$aftershock" merge "$out_base"/shard-{1,1,2,3} --out "$tmp/refused-dup" -q 2>>"$tmp/refused.err"
dup_rc=$?
set -e
cat "$tmp/refused.err" >&2
((missing_rc == 2)) || fail "merge of shards 1-3 of 4 exited $missing_rc, expected 2 (refused)"
((dup_rc == 2)) || fail "merge of shards 1,1,2,3 of 4 exited $dup_rc, expected 2 (refused)"

say "unsharded run for comparison: aftershock run --out $tmp/unsharded -j 2"
t2=$SECONDS
set +e
run_child env -C "$src" "$aftershock" run --out "$tmp/unsharded" -j 2 -q
base_rc=$?
set -e
say "unsharded run exited $base_rc in $((SECONDS - t2))s"

((merge_rc == base_rc)) || fail "merge exited $merge_rc, the unsharded run $base_rc"
((merge_rc == 0)) || fail "merge exited $merge_rc (expected 0: the built-in scenarios hold)"

for f in report.json junit.xml summary.md report.html results.sarif; do
  [[ -s "$out_base/merged/$f" ]] || fail "merged/$f is missing or empty"
done

python3 - "$out_base" "$tmp/unsharded" "$shards" <<'EOF'
import collections, json, os, sys
import xml.etree.ElementTree as ET

out_base, unsharded_dir, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
problems = []

def load(path):
    with open(path) as f:
        return json.load(f)

def names(report):
    return [s["name"] for s in report["scenarios"]]

def verdicts(report):
    """(scenario, model) -> Counter of verdicts and of the states explored and
    unique, and the total Counter of verdicts."""
    per, total = {}, collections.Counter()
    for s in report["scenarios"]:
        for m in s.get("models", []):
            c = collections.Counter({k: v for k, v in m["verdicts"].items() if v})
            total.update(c)
            c.update({k: m.get(k, 0) for k in ("states_explored", "states_unique")})
            per.setdefault((s["name"], m["model"]), collections.Counter()).update(c)
    return per, total

shard_reports = []
for k in range(1, count + 1):
    r = load(f"{out_base}/shard-{k}/report.json")
    shard = r.get("shard")
    want = {"index": k, "count": count, "source": "SLURM_ARRAY_TASK_ID"}
    if not isinstance(shard, dict) or any(shard.get(key) != v for key, v in want.items()):
        problems.append(f"shard-{k}/report.json: shard is {shard!r}, expected {want}")
    shard_reports.append(r)

merged = load(f"{out_base}/merged/report.json")
base = load(f"{unsharded_dir}/report.json")

if "shard" in merged:
    problems.append(f"merged report.json still has a shard member: {merged['shard']!r}")
if merged.get("merged_shards", count) != count:
    problems.append(f"merged report.json has merged_shards {merged['merged_shards']!r}, expected {count}")

merged_names = names(merged)
if len(merged_names) != len(set(merged_names)):
    dup = [n for n, c in collections.Counter(merged_names).items() if c > 1]
    problems.append(f"merged report.json lists scenarios more than once: {dup}")
shard_names = set().union(*(names(r) for r in shard_reports))
for label, other in (("the shards", shard_names), ("the unsharded run", set(names(base)))):
    if set(merged_names) != other:
        problems.append(f"scenarios of merged report.json differ from {label}'s: "
                        f"only merged {sorted(set(merged_names) - other)}, "
                        f"only {label} {sorted(other - set(merged_names))}")
print(f"scale-slurm: merged report: {len(merged_names)} scenarios", file=sys.stderr)

m_per, m_total = verdicts(merged)
b_per, b_total = verdicts(base)
s_total = collections.Counter()
for r in shard_reports:
    s_total.update(verdicts(r)[1])
print(f"scale-slurm: verdicts merged {dict(sorted(m_total.items()))}", file=sys.stderr)
print(f"scale-slurm: verdicts unsharded {dict(sorted(b_total.items()))}", file=sys.stderr)
if m_total != b_total:
    problems.append(f"merged verdict counts {dict(m_total)} != unsharded {dict(b_total)}")
if s_total != m_total:
    problems.append(f"the shards' verdict counts add up to {dict(s_total)}, merged has {dict(m_total)}")
for key in sorted(set(m_per) | set(b_per)):
    if m_per.get(key) != b_per.get(key):
        problems.append(f"{key[0]} under {key[1]}: merged {dict(m_per.get(key, {}))}, "
                        f"unsharded {dict(b_per.get(key, {}))}")
if merged.get("passed") != base.get("passed"):
    problems.append(f"merged passed={merged.get('passed')}, unsharded passed={base.get('passed')}")

try:
    ET.parse(f"{out_base}/merged/junit.xml")
except ET.ParseError as e:
    problems.append(f"merged/junit.xml is not XML: {e}")
try:
    sarif = load(f"{out_base}/merged/results.sarif")
    if sarif.get("version") != "2.1.0":
        problems.append(f"merged/results.sarif has version {sarif.get('version')!r}")
except ValueError as e:
    problems.append(f"merged/results.sarif is not JSON: {e}")
if any(os.path.isdir(f"{out_base}/shard-{k}/logs") for k in range(1, count + 1)) \
        and not os.path.isdir(f"{out_base}/merged/logs"):
    problems.append("the shards have logs/, merged has none")

for p in problems:
    print(f"scale-slurm: FAIL: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

say "PASS in $((SECONDS - t0))s (Slurm array $((t2 - t1))s incl. merge, unsharded run $((SECONDS - t2))s)"
