#!/bin/sh
# daemonq: shellq (shellq.sh) as a daemon (docs/daemon-mode.md), for the
# harness's own tests. Each request's message is written under incoming/,
# fsynced (`sync FILE`), renamed into queue/ and the directory fsynced
# before the answer `ok ID`. When any of that fails the partial file is
# removed and the answer is `err ID REASON`: nothing of it stays queued.
set -u
mkdir -p incoming queue
while read -r verb id rest; do
  size=${rest##* }
  rcpts=${rest% *}
  if [ "$verb" != enqueue ] || [ -z "$rcpts" ] || [ "$rcpts" = "$rest" ]; then
    echo "err - malformed request"
    continue
  fi
  tmp="incoming/$id"
  stored=no
  if printf '%s\n' "$rcpts" > "$tmp"; then
    head -c "$size" >> "$tmp" && stored=yes
  else
    head -c "$size" > /dev/null  # stay in step with the requests
  fi
  if [ "$stored" = yes ] && sync "$tmp" && mv "$tmp" "queue/$id" && sync queue; then
    echo "ok $id"
  else
    rm -f "$tmp"
    echo "err $id cannot store the message"
  fi
done
