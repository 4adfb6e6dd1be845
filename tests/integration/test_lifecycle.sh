#!/usr/bin/env bash
# Process lifecycle: SIGHUP reloads and keeps the cache; SIGTERM exits 0
# promptly even with resolutions in flight; the daemon restarts cleanly;
# zero-config start (no arguments) listens on 127.0.0.1:53 and [::1]:53.
#   tests/integration/test_lifecycle.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require
lab_start

pid=$(node_pid 1)

section "SIGHUP keeps the cache"
q www.lab. A
expect_rcode NOERROR
t1=$(out_ttl A)
kill -HUP "$pid"
sleep 1
check "same process after SIGHUP (pid $pid)" kill -0 "$pid"
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
# unbound flushes its cache on SIGHUP, so this part is vipdnsd-only
cache_kept() {
  "$LAB" auth-stop
  q www.lab. A
  expect_rcode NOERROR
  expect_answer 'A[[:space:]]+203\.0\.113\.80$'
  expect_no_output 'EDE'
  local t2; t2=$(out_ttl A)
  check "answer after reload comes from the cache (TTL ${t2:-?} < first ${t1:-?})" \
    bash -c '[[ -n $1 && -n $2 ]] && (( $2 < $1 ))' _ "$t1" "$t2"
  "$LAB" auth-start
}
vd_only "cache survives SIGHUP (authorities stopped, fresh cached answer)" cache_kept
q www.lab. A
expect_rcode NOERROR

section "SIGHUP with a broken config keeps serving"
# (unbound exits on a bad reload; vipdnsd must keep the old config)
bad_reload() {
  cp "$NODE1_CONF" "$WORK/conf.bak"
  echo "this is not a valid line" >>"$NODE1_CONF"
  kill -HUP "$pid"
  sleep 1
  check "still running after a bad reload (pid $pid)" kill -0 "$pid"
  q www.lab. A
  expect_rcode NOERROR
  cp "$WORK/conf.bak" "$NODE1_CONF"
}
vd_only "bad config on SIGHUP keeps the running config" bad_reload

section "SIGTERM with resolutions in flight"
in_client dig +time=20 +tries=1 @"$VIP4" www.dead.example. A >/dev/null 2>&1 &
bgdig=$!
EXTRA_PIDS+=("$bgdig")
sleep 0.5
start=$SECONDS
"$LAB" resolver-stop 1
el=$((SECONDS - start))
rc=$(cat "$NODE1_RCFILE" 2>/dev/null || echo none)
check "exit status after SIGTERM is 0 (got $rc)" test "$rc" = 0
check "exited within 5 s of SIGTERM (took ${el}s)" test "$el" -le 5
check "process $pid is gone" bash -c '! kill -0 "$1" 2>/dev/null' _ "$pid"
kill "$bgdig" 2>/dev/null; wait "$bgdig" 2>/dev/null

section "restart"
"$LAB" resolver-start 1
check "restarted with a new pid" bash -c '[[ -n $1 && $1 != "$2" ]] && kill -0 "$1"' _ "$(node_pid 1)" "$pid"
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'

section "zero-config start in an empty namespace (only lo)"
ZC=$VDLAB-zc
ip netns add "$ZC" && EXTRA_NS+=("$ZC")
ip -n "$ZC" link set lo up
if [[ $RESOLVER == unbound ]]; then
  # unbound's own defaults would chroot, switch user and write /run/unbound.pid
  printf 'server:\n  chroot: ""\n  username: ""\n  pidfile: "%s"\n  do-daemonize: no\n  use-syslog: no\n' \
    "$WORK/unbound.pid" >"$WORK/zc.conf"
  ip netns exec "$ZC" unbound -d -c "$WORK/zc.conf" </dev/null >"$WORK/zc.log" 2>&1 &
else
  ip netns exec "$ZC" "$VIPDNSD" </dev/null >"$WORK/zc.log" 2>&1 &
fi
zpid=$!
EXTRA_PIDS+=("$zpid")
any_answer() { grep -q 'status: ' <<<"$(ip netns exec "$ZC" dig +time=1 +tries=1 "$@" 2>/dev/null)"; }
check "zero-config answers on 127.0.0.1:53 (udp) within 10 s" wait_for 10 any_answer @127.0.0.1 localhost. A
check "zero-config answers on [::1]:53 (udp)" wait_for 5 any_answer @::1 localhost. A
check "zero-config answers on 127.0.0.1:53 (tcp)" wait_for 5 any_answer +tcp @127.0.0.1 localhost. A
check "zero-config process still running" kill -0 "$zpid"
kill -TERM "$zpid"
zrc=0; wait "$zpid" || zrc=$?
check "zero-config exit status after SIGTERM is 0 (got $zrc)" test "$zrc" = 0
if ((N_FAIL)); then sed 's/^/    zc.log | /' "$WORK/zc.log" | tail -n 20; fi

section "systemd notifications (Type=notify, watchdog)"
# notify_recv.py stands in for systemd: it logs what vipdnsd sends and,
# the moment READY=1 comes, checks that queries are already answered.
sd_notify_lifecycle() {
  local nlog=$WORK/notify.log npid vpid vrc
  : >"$nlog"
  ip netns exec "$ZC" python3 "$(dirname "$0")/notify_recv.py" "$WORK/notify.sock" "$nlog" 127.0.0.1 &
  npid=$!
  EXTRA_PIDS+=("$npid")
  wait_for 5 test -S "$WORK/notify.sock" || true
  NOTIFY_SOCKET=$WORK/notify.sock WATCHDOG_USEC=1000000 \
    ip netns exec "$ZC" "$VIPDNSD" </dev/null >"$WORK/zc-notify.log" 2>&1 &
  vpid=$!
  EXTRA_PIDS+=("$vpid")
  check "READY=1 sent within 10 s" wait_for 10 grep -q '^[0-9.]* READY=1$' "$nlog"
  check "answering when it said READY=1" wait_for 3 grep -q 'ANSWERED_AT_READY=1' "$nlog"
  watchdog_pings() { (($(grep -c ' WATCHDOG=1$' "$nlog") >= 3)); }
  check "WATCHDOG=1 pings at half of WATCHDOG_USEC (3 within 3 s)" wait_for 3 watchdog_pings
  kill -TERM "$vpid"
  vrc=0; wait "$vpid" || vrc=$?
  check "STOPPING=1 sent on SIGTERM" grep -q ' STOPPING=1$' "$nlog"
  check "exit status 0 (got $vrc)" test "$vrc" = 0
  kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null || true
  if ((N_FAIL)); then sed 's/^/    notify.log | /' "$nlog"; fi
}
vd_only "sd_notify READY / WATCHDOG / STOPPING" sd_notify_lifecycle

finish
