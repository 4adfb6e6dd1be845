#!/usr/bin/env bash
# TCP (RFC 7766) and what hostile TCP clients must not achieve:
#  - several queries in one write are all answered on the connection;
#  - a client that sends queries for large answers and never reads does not
#    make the daemon buffer without bound, and others are still served;
#  - a client that trickles bytes without ever completing a query is
#    closed after the idle timeout (idle = no complete message, 6.2.3).
#   tests/integration/test_tcp.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require python3
lab_start --vd-conf "tcp-idle-timeout = 2000" --ub-conf "tcp-idle-timeout: 2000"
PY=$(dirname "$0")/tcp_clients.py

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

check "resolver process still running" node_alive 1
finish
