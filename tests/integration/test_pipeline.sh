#!/usr/bin/env bash
# The query pipeline under load shapes the unit tests cannot make:
#  - identical misses in flight are coalesced into one recursion;
#  - past max-recursions a miss gets an explicit SERVFAIL at once, counted;
#  - a popular entry is prefetched in the last prefetch-percent of its TTL
#    and clients keep getting it from the cache, refreshed, with no miss.
# Counters are read with vipdnsctl stats.
#   tests/integration/test_pipeline.sh PATH_TO_VIPDNSD [PATH_TO_VIPDNSCTL]
source "$(dirname "$0")/lib.sh" "$@"
CTL=${2:-$(dirname "$VIPDNSD")/vipdnsctl}
require
if [[ $RESOLVER != vipdnsd ]]; then
  echo "$TEST_NAME: vipdnsd-only scenario (counters come from vipdnsctl)"
  exit 77
fi
[[ -x $CTL ]] || { echo "$TEST_NAME: vipdnsctl not found at '$CTL'"; exit 1; }
lab_start --vd-conf "max-recursions = 4
recursion-timeout = 4000
stale-client-timeout = 0
prefetch-percent = 10
prefetch-min-hits = 2"

SOCK=$VDLAB_DIR/node1/control.sock
stat() { in_node 1 "$CTL" -s "$SOCK" stats | sed -n "s/^$1=//p"; }

section "identical misses in flight share one recursion"
# dead.example.'s servers never answer, so the recursion stays in flight
# while the other queries arrive.
rec0=$(stat recursions); coal0=$(stat coalesced)
pids=()
for i in $(seq 1 6); do
  in_client dig @203.0.113.1 +time=8 +tries=1 same.dead.example. A >/dev/null 2>&1 &
  pids+=($!)
done
wait "${pids[@]}" || true
rec1=$(stat recursions); coal1=$(stat coalesced)
info "recursions +$((rec1 - rec0)), coalesced +$((coal1 - coal0))"
check "6 identical queries started one recursion" test $((rec1 - rec0)) -eq 1
check "5 of them joined it" test $((coal1 - coal0)) -eq 5

section "past max-recursions (4) a miss is answered SERVFAIL at once"
over0=$(stat over_limit)
pids=()
for i in $(seq 1 4); do
  in_client dig @203.0.113.1 +time=8 +tries=1 "busy$i.dead.example." A >/dev/null 2>&1 &
  pids+=($!)
done
sleep 1
start=$(date +%s%N)
q extra.dead.example. A +time=3 +tries=1
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_rcode SERVFAIL
info "answered in ${ms} ms"
check "the over-limit answer came at once (< 1000 ms)" test "$ms" -lt 1000
over1=$(stat over_limit)
check "over_limit counted" test $((over1 - over0)) -ge 1
wait "${pids[@]}" || true

section "a popular entry is prefetched before it expires"
# pf.lab. has TTL 20; prefetch-percent 10 -> refresh in its last 2 s
q pf.lab. A
expect_rcode NOERROR
q pf.lab. A
q pf.lab. A
pre0=$(stat prefetches); miss0=$(stat cache_misses)
sleep 18.4
q pf.lab. A            # ~1.5 s left: a hit that starts the refresh
expect_rcode NOERROR
wait_for 5 bash -c "test \$(ip netns exec $NS_NODE1 $CTL -s $SOCK stats | sed -n 's/^prefetches=//p') -gt $pre0"
pre1=$(stat prefetches)
check "one prefetch started" test $((pre1 - pre0)) -eq 1
sleep 1.5
q pf.lab. A
expect_rcode NOERROR
ttl=$(out_ttl A)
info "TTL after the refresh: $ttl"
check "the refreshed entry has a fresh TTL (> 15)" test "${ttl:-0}" -gt 15
miss1=$(stat cache_misses)
check "no client query missed the cache" test $((miss1 - miss0)) -eq 0

section "the next refresh of the same name reaches the authorities too"
# The prefetch context that fetched the current answer still holds it in
# libunbound's cache; the refresh must not be that copy again.
q pf.lab. A
sleep $(( ttl - 2 )).4
q pf.lab. A            # in the window again: second refresh
wait_for 5 bash -c "test \$(ip netns exec $NS_NODE1 $CTL -s $SOCK stats | sed -n 's/^prefetches=//p') -ge $((pre1 + 2))"
sleep 1.5
q pf.lab. A
expect_rcode NOERROR
ttl=$(out_ttl A)
info "TTL after the second refresh: $ttl"
check "the second refresh has a fresh TTL (> 15)" test "${ttl:-0}" -gt 15
miss2=$(stat cache_misses)
check "still no client query missed the cache" test $((miss2 - miss0)) -eq 0

check "resolver process still running" node_alive 1
finish
