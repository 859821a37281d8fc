#!/bin/sh
# A whole daemon-mode target in POSIX sh (docs/daemon-mode.md): one file per
# message in queue/, made durable before the answer. Run in {root}.
set -u
mkdir -p queue
while read -r verb id rest; do
  size=${rest##* }
  rcpts=${rest% *}
  if [ "$verb" != enqueue ] || [ -z "$rcpts" ] || [ "$rcpts" = "$rest" ]; then
    echo "err - malformed request"
    continue
  fi
  tmp="queue/.$id"
  # head -c reads exactly SIZE bytes and no more from the pipe.
  if { echo "$rcpts"; head -c "$size"; } > "$tmp" &&
     sync "$tmp" &&           # the data before the name
     mv "$tmp" "queue/$id" &&
     sync queue; then         # the name before the answer
    echo "ok $id"
  else
    echo "err $id cannot store the message"
  fi
done
