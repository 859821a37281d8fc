#!/bin/bash
# Drives Debian's Postfix 3.7, unmodified, as an aftershock target
# (docs/postfix-verdicts.md). One Postfix instance per state directory:
# its configuration is {root}/etc, its queue {root}/queue, its data
# directory {root}/data and the mail store {root}/mail, so everything
# Postfix writes is in the crash domain and nothing under /etc/postfix,
# /var/spool/postfix or /var/mail is touched.
#
#   postfix.sh init             write the configuration, create the queue
#   postfix.sh sendmail RCPT... submit stdin with sendmail(1) (postdrop)
#   postfix.sh smtp RCPT...     submit stdin to smtpd(8) on 127.0.0.1:2525;
#                               exits 0 only on "250 2.0.0 Ok: queued"
#   postfix.sh recover          start Postfix as after a reboot, then stop it
#   postfix.sh deliver          start it, flush, wait until the queue is
#                               empty (or DELIVER_WAIT_S passes), stop it
set -u
root=${AFTERSHOCK_ROOT:?run by aftershock: AFTERSHOCK_ROOT is not set}
etc=$root/etc
queue=$root/queue
daemons=/usr/lib/postfix/sbin
wait_s=${DELIVER_WAIT_S:-10}

die() { echo "postfix.sh: $*" >&2; exit 1; }

# Postfix opens its log (maillog_file = /dev/stdout) only if it is a file
# with one link or a pipe; aftershock hands commands an anonymous file.
# So the output goes through a pipe, drained before the script ends.
exec {log_fd}> >(exec cat)
log_pid=$!
exec 1>&"$log_fd" 2>&1
# Postfix's commands reopen /dev/stdout after dropping to the user postfix.
chmod 0622 /proc/self/fd/1
started=""
finish() {
  local status=$?
  [[ -z "$started" ]] || stop
  exec 1>&- 2>&- {log_fd}>&-
  wait "$log_pid"
  exit "$status"
}
trap finish EXIT

write_main_cf() {
  cat <<CF
compatibility_level = 3.6
queue_directory = $queue
data_directory = $root/data
mail_owner = postfix
setgid_group = postdrop
# No syslog here: the log goes to the command's output (postlogd).
maillog_file = /dev/stdout
myhostname = mx.aftershock.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
# Every domain is delivered by virtual(8), each recipient into a maildir
# of its own, mail/RCPT/, listed in etc/mailboxes (provision below).
virtual_mailbox_domains = static:all
virtual_mailbox_base = $root/mail
virtual_mailbox_maps = texthash:$etc/mailboxes
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
default_transport = discard
relay_transport = discard
smtputf8_enable = no
# No aliases: every recipient is virtual(8)'s (and /etc/aliases is the host's).
alias_maps =
alias_database =
biff = no
CF
}

write_master_cf() {
  # Debian's services, without chroot (the queue is not under /var/spool).
  cat > "$etc/master.cf" <<'CF'
127.0.0.1:2525 inet n - n - - smtpd
pickup    unix  n  -  n  60     1  pickup
cleanup   unix  n  -  n  -      0  cleanup
qmgr      unix  n  -  n  300    1  qmgr
rewrite   unix  -  -  n  -      -  trivial-rewrite
bounce    unix  -  -  n  -      0  bounce
defer     unix  -  -  n  -      0  bounce
trace     unix  -  -  n  -      0  bounce
verify    unix  -  -  n  -      1  verify
flush     unix  n  -  n  1000?  0  flush
proxymap  unix  -  -  n  -      -  proxymap
showq     unix  n  -  n  -      -  showq
error     unix  -  -  n  -      -  error
retry     unix  -  -  n  -      -  error
discard   unix  -  -  n  -      -  discard
virtual   unix  -  n  n  -      -  virtual
anvil     unix  -  -  n  -      1  anvil
scache    unix  -  -  n  -      1  scache
postlog   unix-dgram n - n - 1 postlogd
CF
}

# aftershock's crash states keep names, bytes and modes, not owners: give
# the queue and the mail store back to Postfix as set-permissions would.
own() {
  chown -R postfix "$queue" "$root/data" "$root/mail" 2>/dev/null
  chgrp postdrop "$queue/maildrop" "$queue/public" 2>/dev/null
  return 0
}

# main.cf names the state directory: a crash state recovered in another
# directory than the one it was recorded in gets its paths rewritten
# first (atomically, as an administrator restoring a queue would).
configure() {
  grep -qxF "queue_directory = $queue" "$etc/main.cf" 2>/dev/null && return 0
  write_main_cf > "$etc/main.cf.new" && mv "$etc/main.cf.new" "$etc/main.cf"
}

start() {
  configure
  own
  # What `postfix start` does first: repair the queue's structure
  # (postsuper with no options: -s and -p, the boot-time checks).
  # Its log goes to /dev/stdout (reopened, hence our pipe); its stderr is
  # kept for the reason when it fails.
  local err
  err=$(postsuper -c "$etc" 2>&1 >&"$log_fd") || die "postsuper failed: $(tail -n 1 <<< "$err")"
  # In the foreground (-d), in the background of this script: its log
  # (and its daemons', through postlogd) stays on our output.
  setsid "$daemons/master" -c "$etc" -d &
  started=$!
  # Ready once it has locked and written pid/master.pid (`master -t` would
  # race it for that lock).
  local _
  for _ in $(seq 500); do
    [[ "$(tr -d ' \n' 2>/dev/null < "$queue/pid/master.pid")" == "$started" ]] && return 0
    kill -0 "$started" 2>/dev/null || die "master did not start"
    sleep 0.01
  done
  die "master did not start within 5 s"
}

stop() {  # the master this script started (never a stale pid file's)
  local pid=$started
  started=""
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  local _
  for _ in $(seq 500); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.01; done
  die "master $pid did not stop"
}

queued() {
  find "$queue/maildrop" "$queue/incoming" "$queue/active" "$queue/deferred" \
       -type f 2>/dev/null | head -1
}

init() {
  mkdir -p "$etc" "$queue" "$root/data" "$root/mail"
  : > "$etc/mailboxes"
  write_main_cf > "$etc/main.cf"
  write_master_cf
  postfix -c "$etc" check || die "postfix check failed"
  own
}

# A maildir of its own for each recipient: virtual(8) refuses to substitute
# the user into a mailbox path (for security), so its map lists every one.
# Added before the message is submitted, and durably (fsync the new map,
# rename it, fsync etc/), as an administrator creates a mailbox before mail
# for it arrives: a crash never takes a mailbox away.
provision() {
  local map=$etc/mailboxes r tmp missing=()
  for r in "$@"; do grep -qxF "$r $r/" "$map" 2>/dev/null || missing+=("$r"); done
  ((${#missing[@]} == 0)) && return 0
  tmp=$(mktemp "$map.XXXXXX") || die "cannot add mailboxes to $map"
  { cat "$map"; for r in "${missing[@]}"; do echo "$r $r/"; done; } > "$tmp" &&
    chmod 0644 "$tmp" && sync "$tmp" && mv "$tmp" "$map" && sync "$etc" || die "cannot add mailboxes to $map"
}

sendmail_submit() {
  configure
  provision "$@"
  # postdrop is set-group-id postdrop: with that as our real group the kernel
  # does not start it in secure-execution mode, which would ignore the
  # recorder's LD_PRELOAD. Same code, same files, same calls.
  setpriv --regid postdrop --clear-groups \
    /usr/sbin/sendmail -C "$etc" -f sender@remote -- "$@"
}

smtp_reply() {  # reads one (possibly multi-line) reply; prints its last line
  local line
  while IFS= read -r -t 10 line <&3; do
    line=${line%$'\r'}
    [[ "${line:3:1}" == "-" ]] && continue
    echo "$line"
    return 0
  done
  return 1
}

smtp_expect() {  # CODE COMMAND
  local reply
  [[ -z "$2" ]] || printf '%s\r\n' "$2" >&3
  reply=$(smtp_reply) || die "no reply to '${2:-greeting}'"
  [[ "$reply" == "$1"* ]] || die "'${2:-greeting}' got '$reply'"
  echo "$reply"
}

smtp_submit() {
  configure
  provision "$@"
  start
  local _
  for _ in $(seq 100); do  # until master listens
    exec 3<>/dev/tcp/127.0.0.1/2525 2>/dev/null && break
    sleep 0.05
  done
  [[ -e /dev/fd/3 ]] || die "cannot connect to smtpd"
  smtp_expect 220 "" >/dev/null
  smtp_expect 250 "HELO client.aftershock.test" >/dev/null
  smtp_expect 250 "MAIL FROM:<sender@remote>" >/dev/null
  local r
  for r in "$@"; do smtp_expect 250 "RCPT TO:<$r>" >/dev/null; done
  smtp_expect 354 "DATA" >/dev/null
  local line
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" == .* ]] && line=".$line"  # dot-stuffing (RFC 5321 4.5.2)
    printf '%s\r\n' "$line" >&3
  done
  local reply
  reply=$(smtp_expect 250 ".") || exit 1
  printf 'QUIT\r\n' >&3
  echo "$reply"
  [[ "$reply" == "250 2.0.0 Ok: queued"* ]]
}

recover() {
  start
  stop
}

deliver() {
  start
  local _
  for _ in $(seq 100); do  # until qmgr listens
    postqueue -c "$etc" -f 2>/dev/null && break
    sleep 0.05
  done
  local deadline=$((SECONDS + wait_s))
  while [[ -n "$(queued)" ]] && ((SECONDS < deadline)); do sleep 0.05; done
}

case "${1:-}" in
  init) init ;;
  sendmail) shift; sendmail_submit "$@" ;;
  smtp) shift; smtp_submit "$@" ;;
  recover) recover ;;
  deliver) deliver ;;
  *) die "usage: postfix.sh init|sendmail RCPT...|smtp RCPT...|recover|deliver" ;;
esac
