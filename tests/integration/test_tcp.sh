#!/usr/bin/env bash
# TCP (RFC 7766) and what hostile TCP clients must not achieve:
#  - several queries in one write are all answered on the connection;
#  - a client that sends queries for large answers and never reads does not
#    make the daemon buffer without bound, and others are still served;
#  - a client that trickles bytes without ever completing a query is
#    closed after the idle timeout (idle = no complete message, 6.2.3);
#  - a client the ACL drops is closed at accept, not left holding a slot;
#  - one host opening 3000 connections and keeping them busy gets its
#    per-client share only: other clients' UDP and TCP queries and a cache
#    miss are still answered, the daemon never runs out of descriptors and
#    its health (control socket) stays OK;
#  - with every connection slot of the worker taken, a new client is
#    served and the earliest-idle connection is the one closed (6.2.3).
#   tests/integration/test_tcp.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require python3 prlimit setpriv
# The lab starts with the usual default soft limit of descriptors: the
# daemon must raise it for what its TCP limits allow.
ulimit -S -n 1024
# 192.0.2.201 is dropped by the ACL; 192.0.2.200 is an ordinary client
lab_start --vd-conf "tcp-idle-timeout = 2000
tcp-max-connections-per-client = 32
acl = 192.0.2.201/32 drop" --ub-conf "tcp-idle-timeout: 2000
access-control: 192.0.2.201/32 deny"
PY=$(dirname "$0")/tcp_clients.py
CTL=$(dirname "$VIPDNSD")/vipdnsctl
CTL_SOCK=$(dirname "$NODE1_CONF")/control.sock

section "pipelining: 20 queries in one write"
out=$(in_client python3 "$PY" pipeline 203.0.113.1 20 2>&1) || true
info "$out"
check "20 answers with 20 distinct IDs" grep -q "answers=20 distinct_ids=20" <<<"$out"

section "a client that never reads its answers"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$(node_pid 1)/status"; }
before=$(rss)
in_client python3 "$PY" noread 203.0.113.1 20000 4 >"$WORK/noread.out" 2>&1 &
noread_pid=$!
sleep 2
q www.lab. A +tcp
expect_rcode NOERROR
q www.lab. A
expect_rcode NOERROR
during=$(rss)
wait "$noread_pid" || true
info "$(cat "$WORK/noread.out"); daemon RSS ${before} kB -> ${during} kB"
d="daemon memory grew by less than 16 MB (answers ~2 KB x 20000 = 40 MB asked for)"
vd_only "$d" check "$d" test $((during - before)) -lt 16384

section "a client that trickles bytes and never completes a query"
out=$(in_client python3 "$PY" trickle 203.0.113.1 10 2>&1) || true
info "$out"
closed=$(sed -n 's/closed_after=//p' <<<"$out")
d="closed after the 2 s idle timeout (between 1.5 and 5 s), not kept forever"
vd_only "$d" check "$d" \
  bash -c '[[ $1 != never ]] && awk -v t="$1" "BEGIN{exit !(t >= 1.5 && t < 5)}"' _ "$closed"

nofile=$(awk '/^Max open files/ {print $4}' "/proc/$(node_pid 1)/limits")
d="daemon raised its descriptor limit above the 1024 it was started with (now $nofile)"
vd_only "$d" check "$d" test "${nofile:-0}" -gt 1024

# a daemon that cannot get the descriptors its limits need says so and
# does not start (unprivileged, hard limit 1024; a port of its own)
fdconf=$WORK/fd.conf
printf 'listen = 127.0.0.1@5391\nthreads = 1\ncontrol-socket = ""\ncache-snapshot = ""\n' >"$fdconf"
chmod 0755 "$WORK"; chmod 0644 "$fdconf"
fd_refused() {
  local out rc
  out=$(in_node 1 timeout 10 prlimit --nofile=1024:1024 \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$VIPDNSD" -c "$fdconf" 2>&1)
  rc=$?
  info "$(grep -m1 crit: <<<"$out")"
  [[ $rc == 1 ]] && grep -q "need [0-9]* file descriptors.*cannot be raised" <<<"$out"
}
vd_only "too low a descriptor limit that cannot be raised: start fails with the figures" \
  check "too low a descriptor limit that cannot be raised: start fails with the figures" fd_refused

section "a client the ACL drops is closed at accept"
out=$(in_client python3 "$PY" querying "$CLIENT4_X2" 203.0.113.1 4 2>&1) || true
info "$out"
closed=$(sed -n 's/closed_after=//p' <<<"$out")
d="dropped client's connection closed at once (< 1 s; idle timeout is 2 s, it queries every 0.2 s)"
vd_only "$d" check "$d" \
  bash -c '[[ $1 != never ]] && awk -v t="$1" "BEGIN{exit !(t < 1)}"' _ "$closed"

section "one host opens 3000 connections and keeps them busy"
ready=$WORK/hold.ready
in_client python3 "$PY" hold 203.0.113.1 3000 8 "$ready" >"$WORK/hold.out" 2>&1 &
hold_pid=$!
EXTRA_PIDS+=("$hold_pid")
check "the flood is in place (every connect ended, within 20 s)" wait_for 20 test -s "$ready"
info "flood: $(cat "$ready" 2>/dev/null)"
q -b "$CLIENT4_X1" www.lab. A +tcp
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
q -b "$CLIENT4_X1" www.lab. A
expect_rcode NOERROR
q -b "$CLIENT4_X1" mx.lab. MX +tcp
expect_rcode NOERROR
expect_answer 'MX[[:space:]]+10 mail\.lab\.$'
q @"$VIP6" -b "$CLIENT6_X1" v4only.lab. A +tcp
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.85$'
health_ok() {
  out=$("$CTL" -s "$CTL_SOCK" health 2>&1)
  info "$(head -n 1 <<<"$out")"
  grep -qx healthy <<<"$out"
}
vd_only "health over the control socket stays OK during the flood" \
  check "health over the control socket stays OK during the flood" health_ok
wait "$hold_pid" || true
out=$(cat "$WORK/hold.out")
info "flood: $out"
held=$(sed -n 's/.*held=\([0-9]*\).*/\1/p' <<<"$out")
d="the flooding host held at most its 32 connections (held ${held:-?})"
vd_only "$d" check "$d" test "${held:-9999}" -le 32
d="no descriptor exhaustion in the daemon log"
vd_only "$d" check "$d" bash -c '! grep -qiE "too many open files|EMFILE" "$1"' _ "$NODE1_LOG"

section "worker full: the earliest-idle connection makes room"
# tcp-max-connections and tcp-idle-timeout apply at accept: reload them
# (longer idle timeout, so nothing closes by itself during this section)
if [[ $RESOLVER == vipdnsd ]]; then
  sed -i 's/^tcp-idle-timeout = 2000$/tcp-idle-timeout = 30000/' "$NODE1_CONF"
  echo "tcp-max-connections = 64" >>"$NODE1_CONF"
  reloads=$(grep -c "configuration reloaded" "$NODE1_LOG")
  kill -HUP "$(node_pid 1)"
  check "reloaded with tcp-max-connections = 64" \
    wait_for 10 bash -c '(( $(grep -c "configuration reloaded" "$1") > $2 ))' _ "$NODE1_LOG" "$reloads"
fi
in_client python3 "$PY" idle 203.0.113.1 "$CLIENT4" 32 20 "$WORK/idle-a.ready" >"$WORK/idle-a.out" 2>&1 &
EXTRA_PIDS+=($!)
check "client A: 32 connections, each used once (within 15 s)" wait_for 15 test -s "$WORK/idle-a.ready"
in_client python3 "$PY" idle 203.0.113.1 "$CLIENT4_X1" 32 20 "$WORK/idle-b.ready" >"$WORK/idle-b.out" 2>&1 &
EXTRA_PIDS+=($!)
check "client B: 32 more, the worker's 64 slots are taken (within 15 s)" wait_for 15 test -s "$WORK/idle-b.ready"
q @"$VIP6" -b "$CLIENT6_X1" www.lab. AAAA +tcp
expect_rcode NOERROR
d="the earliest-idle connection (client A's first) was closed for it"
vd_only "$d" check "$d" wait_for 5 grep -qx "closed 0" "$WORK/idle-a.out"
closed_a=$(grep -c '^closed' "$WORK/idle-a.out"); closed_b=$(grep -c '^closed' "$WORK/idle-b.out")
d="only that one: client A lost 1, client B none (A $closed_a, B $closed_b)"
vd_only "$d" check "$d" test "$closed_a:$closed_b" = 1:0

check "resolver process still running" node_alive 1
finish
