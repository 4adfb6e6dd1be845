#!/usr/bin/env bash
# `user = nobody` keeps anycast and XDP working (review issue, defect 4):
#   the daemon runs as nobody with exactly the capabilities its features
#   need (CapEff/CapPrm/CapBnd in /proc, none inheritable or ambient,
#   no-new-privs; the control and metrics threads hold none);
#   the VIP refresh (RTM_NEWADDR, vip-lifetime 2 s) goes on after the drop:
#   the kernel reports refreshes over 6 s (three lifetimes) while the VIP
#   never leaves lo and the router keeps its route;
#   the runtime directory is given to nobody, so vipdnsctl drain rewrites
#   the BIRD include (route withdrawn) and undrain brings it back;
#   XDP reloads with a changed xdp-map-entries, by SIGHUP (main thread) and
#   by vipdnsctl reload (asked on the control thread): a new program is
#   attached to dn0 each time and answers cache hits;
#   without XDP configured the daemon keeps CAP_NET_ADMIN only.
#
#   tests/integration/test_privdrop.sh build/src/vipdnsd [build/src/vipdnsctl]
source "$(dirname "$0")/lib.sh" "$@"
VIPDNSCTL=${2:-$(dirname "$VIPDNSD")/vipdnsctl}
[[ $RESOLVER == vipdnsd ]] || { echo "$TEST_NAME: vipdnsd only"; exit 77; }
require bird birdc bpftool python3
BUILD_DIR=$(cd "$(dirname "$VIPDNSD")/.." && pwd)
PASS_OBJ=$BUILD_DIR/bpf/vd_xdp_pass.bpf.o
[[ -r $PASS_OBJ ]] || { echo "$TEST_NAME: no $PASS_OBJ (built without XDP?)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "$TEST_NAME: no user nobody"; exit 77; }
NOGROUP=$(id -gn nobody)
DIFF="$PYTHON $TESTS_DIR/xdp_diff.py"

# Capability bits (linux/capability.h)
CAP_NET_ADMIN=12 CAP_PERFMON=38 CAP_BPF=39
mask() { local m=0 c; for c in "$@"; do m=$((m | (1 << c))); done; printf '%016x' "$m"; }
WANT_XDP=$(mask $CAP_NET_ADMIN $CAP_PERFMON $CAP_BPF)
WANT_ANYCAST=$(mask $CAP_NET_ADMIN)

# One node is enough; BIRD must run before vipdnsd here, so that its
# socket can be handed to nobody's group first (in production: run
# vipdnsd's user in BIRD's group, README "Privileges").
lab_start --anycast --nodes 1 --no-resolver \
  --vd-conf "user = nobody
vip-lifetime = 2
xdp-interface = dn0
xdp-map-entries = 4096"
D=$(dirname "$NODE1_CONF")
LOG=$D/resolver.log
"$LAB" bird-start 1 >/dev/null 2>&1 || fail "BIRD on node1 starts"
wait_for 10 test -S "$NODE1_BIRD_CTL" || fail "BIRD's socket $NODE1_BIRD_CTL appears"
chgrp "$NOGROUP" "$NODE1_BIRD_CTL" && chmod 0660 "$NODE1_BIRD_CTL"
"$LAB" resolver-start 1 >/dev/null 2>&1 || fail "vipdnsd on node1 starts"
# XDP_TX on veth needs a program on the peer too (LAB-NOTES.md).
ip -n "$NS_ROUTER" link set dev n1 xdpdrv obj "$PASS_OBJ" sec xdp ||
  fail "XDP_PASS program on the router's n1"

ctl() { "$VIPDNSCTL" -s "$NODE1_CTL" "$@"; }
has_route() { grep -q 'dev n1' <<<"$(ip -n "$NS_ROUTER" route show "$VIP4")"; }
no_route() { ! has_route; }
vip_on_lo() { grep -q "inet $VIP4/32" <<<"$(ip -n "$NS_NODE1" -4 addr show dev lo)"; }
prog_id() { ip -n "$NS_NODE1" -d link show dev dn0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1; }
ready() { grep -q 'ready' "$LOG" 2>/dev/null; }
status_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

section "start as nobody"
wait_for 15 ready
check "vipdnsd is ready" ready
wait_for 30 has_route
check "the router learns $VIP4 from node1" has_route
PID=$(node_pid 1)
check "vipdnsd runs as nobody" eval '[[ $(status_field "$PID" Uid | cut -f1) == $(id -u nobody) ]]'
check "log names the kept capabilities" \
  grep -q 'capabilities kept: cap_net_admin,cap_bpf,cap_perfmon' "$LOG"

section "capabilities (/proc/PID/status)"
for f in CapEff CapPrm CapBnd; do
  got=$(status_field "$PID" $f)
  check "$f = $WANT_XDP (net_admin, perfmon, bpf) (got $got)" eval '[[ $got == "$WANT_XDP" ]]'
done
for f in CapInh CapAmb; do
  got=$(status_field "$PID" $f)
  check "$f = 0 (got $got)" eval '[[ $got == 0000000000000000 ]]'
done
check "NoNewPrivs = 1" eval '[[ $(status_field "$PID" NoNewPrivs) == 1 ]]'
bad=""
for t in /proc/"$PID"/task/*; do
  e=$(awk '$1 == "CapEff:" {print $2}' "$t/status")
  b=$(awk '$1 == "CapBnd:" {print $2}' "$t/status")
  n=$(awk '$1 == "NoNewPrivs:" {print $2}' "$t/status")
  (( (0x$e & ~0x$WANT_XDP) == 0 )) && [[ $b == "$WANT_XDP" && $n == 1 ]] ||
    bad+=" $(cat "$t/comm"):eff=$e,bnd=$b,nnp=$n"
done
check "every thread: CapEff within the kept set, same CapBnd, no-new-privs${bad:+ (bad:$bad)}" \
  eval '[[ -z $bad ]]'

section "VIP refresh after the drop (vip-lifetime 2 s)"
ip -n "$NS_NODE1" -ts monitor address dev lo >"$WORK/addr.mon" 2>&1 &
MON=$!; EXTRA_PIDS+=("$MON")
# The kernel reports every RTM_NEWADDR replace, time-stamped: refreshes
# seen, and milliseconds from the first to the last one.
refreshes() { grep -c "inet $VIP4/32" "$WORK/addr.mon"; }
span_ms() {
  grep "inet $VIP4/32" "$WORK/addr.mon" | sed -n 's/^\[[^T]*T\([0-9:.]*\)\].*/\1/p' |
    awk -F: '{t = ($1 * 3600 + $2 * 60 + $3) * 1000} NR == 1 {f = t} {l = t} END {printf "%d\n", l - f}'
}
vip_gaps=0 route_gaps=0 samples=0
# 6 s of refreshes is three lifetimes: without them the address would
# have expired three times over.
until (($(span_ms) >= 6000)); do
  ((samples++ < 100)) || break   # 100 x >= 0.2 s: 20 s at least
  vip_on_lo || vip_gaps=$((vip_gaps + 1))
  has_route || route_gaps=$((route_gaps + 1))
  sleep 0.2
done
kill "$MON" 2>/dev/null
n=$(refreshes) span=$(span_ms)
check "the kernel saw the VIP refreshed over 6 s, three lifetimes ($n refreshes in $span ms)" \
  eval '((span >= 6000 && n >= 6))'
check "the VIP never left lo ($samples samples, $vip_gaps without it)" eval '((vip_gaps == 0))'
check "the router kept its route ($samples samples, $route_gaps without it)" eval '((route_gaps == 0))'
check "it is a lifetime address, not a forever one" \
  eval 'grep -A1 "inet $VIP4/32" <<<"$(ip -n "$NS_NODE1" -4 addr show dev lo)" | grep -Eq "valid_lft [12]sec"'
if grep -q 'anycast: cannot put' "$LOG"; then
  fail "no VIP refresh error in the log" "$(grep 'anycast: cannot put' "$LOG" | head -n 4)"
else
  pass "no VIP refresh error in the log"
fi

section "drain / undrain as nobody"
wait_for 15 has_route
had=0; has_route && had=1
OUT=$(ctl drain 2>&1); info "$OUT"; OUT=""
wait_for 15 no_route
check "drain withdraws the route the router had" eval '((had)) && no_route'
check "the VIP address stays on lo while drained" vip_on_lo
ctl undrain >/dev/null 2>&1
wait_for 15 has_route
check "undrain announces it again" has_route
check "runtime directory $D owned by nobody" eval '[[ $(stat -c %U "$D") == nobody ]]'
OUT=""

section "XDP reload as nobody"
# The program verifies UDP checksums; the client's veth must compute them
# instead of leaving them to an offload that never happens (xdp_diff.py).
in_client $DIFF tx-csum-off r0 || fail "TX checksum offload off on the client's r0"
hit() { in_node 1 $DIFF counters dn0 | awk '$1 == "hit" {print $2}'; }
xdp_serves() {   # a cache hit answered by the program (dig +nocookie)
  local h0 h1
  in_client dig +short +nocookie +tries=1 +time=2 @"$VIP4" www.lab A >/dev/null
  h0=$(hit)
  in_client dig +short +nocookie +tries=1 +time=2 @"$VIP4" www.lab A >/dev/null
  h1=$(hit)
  ((h1 > h0))
}
id0=$(prog_id)
check "XDP program attached to dn0 at start (id ${id0:-none})" eval '[[ -n $id0 ]]'
attached_new() { local i; i=$(prog_id); [[ -n $i && $i != "$1" ]]; }
sed -i 's/^xdp-map-entries = 4096$/xdp-map-entries = 8192/' "$NODE1_CONF"
kill -HUP "$PID"
wait_for 10 attached_new "$id0"
id1=$(prog_id)
check "SIGHUP with xdp-map-entries 8192: a new program is attached (id $id0 -> ${id1:-none})" \
  attached_new "$id0"
check "the reloaded program answers cache hits" xdp_serves
sed -i 's/^xdp-map-entries = 8192$/xdp-map-entries = 4096/' "$NODE1_CONF"
OUT=$(ctl reload 2>&1); info "$OUT"
check "vipdnsctl reload (control thread) succeeds" grep -q '^reloaded' <<<"$OUT"
OUT=""
wait_for 10 attached_new "$id1"
id2=$(prog_id)
check "vipdnsctl reload with xdp-map-entries 4096: a new program is attached (id $id1 -> ${id2:-none})" \
  attached_new "$id1"
check "that program answers cache hits too" xdp_serves
if grep -q 'xdp: fast path off\|xdp: cannot\|refused the program' "$LOG"; then
  fail "no XDP error in the log" "$(grep 'xdp' "$LOG" | tail -n 8)"
else
  pass "no XDP error in the log"
fi
check "still announced after the reloads" has_route

section "no XDP configured: no CAP_BPF"
"$LAB" resolver-stop 1 >/dev/null 2>&1
sed -i 's/^xdp-interface = dn0$/#xdp-interface = dn0/' "$NODE1_CONF"
: >"$LOG"
"$LAB" resolver-start 1 >/dev/null 2>&1
wait_for 15 ready
PID=$(node_pid 1)
for f in CapEff CapPrm CapBnd; do
  got=$(status_field "$PID" $f)
  check "$f = $WANT_ANYCAST (net_admin only) (got $got)" eval '[[ $got == "$WANT_ANYCAST" ]]'
done
wait_for 30 has_route
check "announced again after the restart" has_route

finish
