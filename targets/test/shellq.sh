#!/bin/sh
# shellq: a tiny queue in POSIX sh, for the harness's own tests. One file per
# message (first line: recipients), written under incoming/, fsynced with
# sync, renamed into queue/. Delivery hands each copy to the sink and records
# done recipients in queue/ID.done. SHELLQ_BUG selects a planted mistake:
#   recover-deletes  recovery removes every queued message (loses mail)
#   double-deliver   delivery hands every copy to the sink twice
set -eu
cmd=$1
case "$cmd" in
init)
  mkdir -p incoming queue
  ;;
enqueue)
  { printf '%s\n' "$AFTERSHOCK_RCPTS"; cat; } > "incoming/$AFTERSHOCK_ID"
  sync
  mv "incoming/$AFTERSHOCK_ID" "queue/$AFTERSHOCK_ID"
  sync
  ;;
deliver)
  for f in queue/*; do
    [ -f "$f" ] || continue
    case "$f" in *.done) continue ;; esac
    id=${f#queue/}
    eval "set -- $(head -n 1 "$f")"
    for rcpt in "$@"; do
      if [ -f "$f.done" ] && grep -qx "$rcpt" "$f.done"; then continue; fi
      tail -n +2 "$f" | "$AFTERSHOCK_SINK" "$rcpt"
      if [ "${SHELLQ_BUG:-}" = double-deliver ]; then tail -n +2 "$f" | "$AFTERSHOCK_SINK" "$rcpt"; fi
      echo "$rcpt" >> "$f.done"
      sync
    done
    rm -f "$f" "$f.done"
  done
  ;;
recover)
  rm -f incoming/*
  if [ "${SHELLQ_BUG:-}" = recover-deletes ]; then rm -f queue/*; fi
  ;;
*)
  echo "shellq: unknown command $cmd" >&2
  exit 64
  ;;
esac
