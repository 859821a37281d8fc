#!/usr/bin/env bash
# A private one-node Slurm on localhost for the scale-out test
# (docs/scale-out.md): munged, slurmctld and slurmd with every config, key,
# socket, state, log and pid file under DIR, on free ports, so it neither
# needs nor touches /etc/slurm, /etc/munge, /run or /var.
#
#   slurm_fixture.sh start DIR   start it and wait until the node is idle
#   slurm_fixture.sh stop DIR    cancel its jobs, stop exactly its daemons
#
# After start, `source DIR/env` (it sets SLURM_CONF) and use sbatch, sinfo...
# Needs root (SlurmUser=root) and the Debian packages slurmctld, slurmd,
# slurm-client and munge (scripts/setup.sh). No cgroup plugins are used, so it
# works in containers. SLURM_FIXTURE_TIMEOUT (seconds, default 60) bounds the
# wait for the node to come up.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
dir=$2
[[ -n "$dir" ]] || usage

log() { echo "slurm-fixture: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# daemon name -> pid file and the process name (/proc/PID/comm) it must have,
# so a stale pid file never makes us signal an unrelated process.
pidfile_of() {
  case $1 in
    munged) echo "$dir/munge/munged.pid" ;;
    slurmctld) echo "$dir/slurm/slurmctld.pid" ;;
    slurmd) echo "$dir/slurm/slurmd.pid" ;;
  esac
}

# Prints the pid of daemon $1 if its pid file names a live process of that name.
live_pid() {
  local f pid comm
  f=$(pidfile_of "$1")
  [[ -r "$f" ]] || return 1
  pid=$(tr -d ' \n' <"$f")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  # The Debian binaries are slurmctld-wlm/slurmd-wlm behind alternatives;
  # comm is cut to 15 characters.
  [[ "$comm" == "$1"* ]] || return 1
  echo "$pid"
}

print_logs() {
  local f
  for f in "$dir/munge/munged.log" "$dir/munge/munged.out" \
    "$dir/slurm/slurmctld.log" "$dir/slurm/slurmctld.out" \
    "$dir/slurm/slurmd.log" "$dir/slurm/slurmd.out"; do
    [[ -s "$f" ]] || continue
    echo "----- $f (last 60 lines) -----" >&2
    tail -n 60 "$f" >&2
  done
}

start_failed() {
  log "error: $*"
  print_logs
  log "stopping what was started"
  do_stop || true
  exit 1
}

free_ports() { # prints two free TCP ports, none of Slurm's defaults 6817-6819
  python3 - <<'EOF'
import socket
socks, ports = [], []
while len(ports) < 2:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    socks.append(s)
    if p not in (6817, 6818, 6819):
        ports.append(p)
print(*ports)
EOF
}

write_config() {
  local host node_hw ctld_port slurmd_port
  host=$(hostname -s)
  # The machine's real CPUs and memory, as slurmd itself sees them; a node
  # configured with more than it has would be drained.
  node_hw=$(SLURM_CONF=/dev/null slurmd -C 2>/dev/null | sed -n 's/^NodeName=[^ ]* //p' | head -n 1)
  [[ "$node_hw" == *CPUs=*RealMemory=* ]] || die "cannot read CPUs and memory from 'slurmd -C'"
  read -r ctld_port slurmd_port < <(free_ports)
  [[ -n "$ctld_port" && -n "$slurmd_port" ]] || die "cannot find free ports"

  cat >"$dir/slurm.conf" <<EOF
# Written by tests/scale/slurm_fixture.sh: a private one-node cluster.
ClusterName=aftershock-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/slurm/state
SlurmdSpoolDir=$dir/slurm/spool
SlurmctldPidFile=$dir/slurm/slurmctld.pid
SlurmdPidFile=$dir/slurm/slurmd.pid
SlurmctldLogFile=$dir/slurm/slurmctld.log
SlurmdLogFile=$dir/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
# No cgroups: works where cgroups are not delegated (containers).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=120
MessageTimeout=20
KillWait=10
MinJobAge=600
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 $node_hw State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$dir/plugstack.conf"
  printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf" >"$dir/env"
  echo "$host" >"$dir/nodename"
}

wait_for_pidfile() { # daemon, seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    live_pid "$1" >/dev/null && return 0
    sleep 0.1
  done
  return 1
}

do_start() {
  local d running=0
  [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root)"
  for d in munged mungekey slurmctld slurmd sinfo sbatch; do
    command -v "$d" >/dev/null || die "$d not found: run scripts/setup.sh"
  done
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)

  for d in munged slurmctld slurmd; do
    if live_pid "$d" >/dev/null; then running=$((running + 1)); fi
  done
  if ((running == 3)); then
    log "already running in $dir"
  elif ((running > 0)); then
    die "partly running in $dir: run '$0 stop $dir' first"
  else
    # munged wants its socket's directories searchable by all and its key's
    # and socket's directories writable by none but the owner.
    mkdir -p "$dir/munge" "$dir/slurm/state" "$dir/slurm/spool"
    chmod 755 "$dir" "$dir/munge" "$dir/slurm" "$dir/slurm/state" "$dir/slurm/spool"
    local sock="$dir/munge/munge.socket" up=$dir
    while [[ "$up" != / ]]; do
      up=$(dirname "$up")
      [[ "$(stat -c %A "$up")" == *x ]] && continue
      [[ "$(stat -c %A "$up")" == *t ]] && continue
      die "munged needs every directory above its socket searchable by all: chmod o+x $up"
    done
    ((${#sock} < 100)) || die "path too long for a unix socket: $sock"
    write_config
    export SLURM_CONF="$dir/slurm.conf"

    if [[ ! -s "$dir/munge/munge.key" ]]; then
      mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
        die "mungekey could not create $dir/munge/munge.key"
    fi
    chmod 600 "$dir/munge/munge.key"

    log "starting munged"
    munged --key-file="$dir/munge/munge.key" --socket="$sock" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
      --seed-file="$dir/munge/munged.seed" </dev/null >"$dir/munge/munged.out" 2>&1 ||
      start_failed "munged did not start"
    wait_for_pidfile munged 10 || start_failed "munged wrote no pid file"

    log "starting slurmctld (port $(sed -n 's/^SlurmctldPort=//p' "$SLURM_CONF"))"
    slurmctld -f "$SLURM_CONF" </dev/null >"$dir/slurm/slurmctld.out" 2>&1 ||
      start_failed "slurmctld did not start"
    wait_for_pidfile slurmctld 20 || start_failed "slurmctld is not running"

    log "starting slurmd (port $(sed -n 's/^SlurmdPort=//p' "$SLURM_CONF"))"
    slurmd -f "$SLURM_CONF" -N "$(cat "$dir/nodename")" </dev/null >"$dir/slurm/slurmd.out" 2>&1 ||
      start_failed "slurmd did not start"
    wait_for_pidfile slurmd 20 || start_failed "slurmd is not running"
  fi

  export SLURM_CONF="$dir/slurm.conf"
  local node state="" timeout=${SLURM_FIXTURE_TIMEOUT:-60} start=$SECONDS
  node=$(cat "$dir/nodename")
  while :; do
    for d in munged slurmctld slurmd; do
      live_pid "$d" >/dev/null || start_failed "$d exited"
    done
    state=$(sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -n 1 || true)
    case $state in
      idle | mixed | allocated) break ;;
      *drain* | *inval* | *fail*)
        start_failed "node $node is $state: $(sinfo -h -R -o '%E' 2>&1 || true)" ;;
    esac
    ((SECONDS - start < timeout)) ||
      start_failed "node $node not idle after ${timeout}s (state: '${state:-none}', sinfo: $(sinfo 2>&1 | tr '\n' ' '))"
    sleep 1
  done
  log "node $node is $state after $((SECONDS - start))s; use: source $dir/env"
}

# Kills leftover job steps of this cluster: slurmstepd processes started by our
# slurmd carry our SLURM_CONF in their environment.
kill_our_stepds() {
  local p
  for p in $(pgrep -x slurmstepd || true); do
    if tr '\0' '\n' 2>/dev/null <"/proc/$p/environ" | grep -qxF "SLURM_CONF=$dir/slurm.conf"; then
      log "killing leftover slurmstepd $p"
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
}

stop_daemon() { # name
  local pid i
  pid=$(live_pid "$1") || return 0
  log "stopping $1 (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    [[ -d "/proc/$pid" ]] || return 0
    # a zombie of ours counts as gone
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    sleep 0.1
  done
  log "$1 (pid $pid) ignored SIGTERM for 30s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    [[ -d "/proc/$pid" ]] || return 0
    sleep 0.1
  done
  log "warning: $1 (pid $pid) is still there"
  return 1
}

do_stop() {
  [[ -d "$dir" ]] || {
    log "nothing to stop: no $dir"
    return 0
  }
  dir=$(cd "$dir" && pwd -P)
  export SLURM_CONF="$dir/slurm.conf"
  local rc=0 i
  if live_pid slurmctld >/dev/null && live_pid munged >/dev/null; then
    # Cancel this private cluster's jobs so slurmd ends their steps.
    if [[ -n "$(squeue -h -o %i 2>/dev/null || true)" ]]; then
      log "cancelling remaining jobs"
      scancel --full --quiet --user=root 2>/dev/null || true
      for ((i = 0; i < 30; i++)); do
        [[ -z "$(squeue -h -t running,completing,pending -o %i 2>/dev/null || true)" ]] && break
        sleep 1
      done
    fi
  fi
  stop_daemon slurmd || rc=1
  kill_our_stepds
  stop_daemon slurmctld || rc=1
  stop_daemon munged || rc=1
  return $rc
}

case $action in
  start) do_start ;;
  stop) do_stop ;;
  *) usage ;;
esac
