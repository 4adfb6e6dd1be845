#!/usr/bin/env bash
# Warm restarts (cache-snapshot): a clean stop writes the answer cache; the
# next start loads what is still valid before it answers, so with the
# authorities down the restarted node still answers from its cache with
# the TTLs counted on, and consumes the file.  A damaged snapshot is
# refused whole (the node starts cold, the file is moved aside); vipdnsctl
# cache-save / cache-load do the same on demand.
#   tests/integration/test_warm.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
[[ $RESOLVER == vipdnsd ]] || { echo "$TEST_NAME: vipdnsd only"; exit 77; }
require
CTL=$(dirname "$VIPDNSD")/vipdnsctl
[[ -x $CTL ]] || { echo "$TEST_NAME: vipdnsctl not found at '$CTL'"; exit 1; }
lab_start
D=$(dirname "$NODE1_CONF")
SNAP=$D/cache.snapshot
LOG=$D/resolver.log
ctl() { in_node 1 "$CTL" -s "$D/control.sock" "$@"; }
log_has() { grep -qE "$1" "$LOG"; }

section "a clean stop writes the cache"
q www.lab. A
expect_rcode NOERROR
t1=$(out_ttl A)
q nonexistent.lab. A
expect_rcode NXDOMAIN
"$LAB" resolver-stop 1
check "snapshot written ($SNAP)" test -s "$SNAP"
check "the log says how many entries" log_has "cache snapshot .*: wrote [1-9][0-9]* entries"

section "the next start loads it before answering"
"$LAB" auth-stop
sleep 1
: >"$LOG.prev"; cp "$LOG" "$LOG.prev"
"$LAB" resolver-start 1
check "the log says what was loaded" log_has "cache snapshot .*: loaded [1-9][0-9]* of [0-9]+ entries"
check "the snapshot is consumed (a crash later cannot bring it back)" test ! -e "$SNAP"
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
expect_no_output 'EDE'
t2=$(out_ttl A)
check "TTL counted on across the restart (${t1:-?} -> ${t2:-?})" \
  bash -c '[[ -n $1 && -n $2 ]] && (( $2 < $1 && $2 > 0 ))' _ "$t1" "$t2"
q nonexistent.lab. A
expect_rcode NXDOMAIN

section "a damaged snapshot is refused whole"
"$LAB" resolver-stop 1
check "snapshot written again" test -s "$SNAP"
# one byte in the middle of the entries
size=$(stat -c %s "$SNAP")
printf '\xff' | dd of="$SNAP" bs=1 seek=$((size / 2)) conv=notrunc status=none
"$LAB" resolver-start 1
check "the log names the reason" log_has "cache snapshot .* rejected whole: checksum mismatch"
check "the file is moved aside" test -e "$SNAP.rejected" -a ! -e "$SNAP"
q www.lab. A +time=12
expect_rcode SERVFAIL
"$LAB" auth-start

section "vipdnsctl cache-save / cache-load"
q www.lab. A
expect_rcode NOERROR
out=$(ctl cache-save "$WORK/manual.snap" 2>&1)
check "cache-save: $out" grep -qE '^wrote [1-9][0-9]* entries' <<<"$out"
out=$(ctl flush-all 2>&1)
check "flush-all: $out" grep -q flushed <<<"$out"
"$LAB" auth-stop
out=$(ctl cache-load "$WORK/manual.snap" 2>&1)
check "cache-load: $out" grep -qE '^loaded [1-9][0-9]* of' <<<"$out"
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
out=$(ctl cache-load relative.snap 2>&1); rc=$?
check "a relative FILE is refused (rc $rc: $out)" bash -c '[[ $1 != 0 ]] && grep -q "absolute" <<<"$2"' _ "$rc" "$out"
cp "$WORK/manual.snap" "$WORK/bad.snap"
printf 'X' | dd of="$WORK/bad.snap" bs=1 seek=3 conv=notrunc status=none
out=$(ctl cache-load "$WORK/bad.snap" 2>&1); rc=$?
check "a foreign file is refused (rc $rc: $out)" bash -c '[[ $1 != 0 ]] && grep -q "not a vipdns cache snapshot" <<<"$2"' _ "$rc" "$out"
"$LAB" auth-start

finish
