#!/bin/sh
# Delivers stdin into mail/<rcpt>/new for each recipient: write to tmp,
# sync, rename into new, as maildir wants.
set -eu
cat > "msg.$AFTERSHOCK_ID"
eval "set -- $AFTERSHOCK_RCPTS"
for rcpt in "$@"; do
  mkdir -p "mail/$rcpt/tmp" "mail/$rcpt/new" "mail/$rcpt/cur"
  cp "msg.$AFTERSHOCK_ID" "mail/$rcpt/tmp/$AFTERSHOCK_ID"
  sync
  mv "mail/$rcpt/tmp/$AFTERSHOCK_ID" "mail/$rcpt/new/$AFTERSHOCK_ID"
done
rm -f "msg.$AFTERSHOCK_ID"
sync
