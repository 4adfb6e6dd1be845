#!/usr/bin/env bash
# Soak and faults: vipdnsd held at a fixed share of its measured socket-path
# capacity for a long time, first clean, then with faults injected.
#
#   benchmarks/soak.sh [PATH_TO_VIPDNSD]     (default ./build/src/vipdnsd; root)
#
# One run brings up its own anycast lab (tests/lab/lab.sh --anycast --nodes 1,
# prefix "vdsoak<pid>": BIRD on the router and on the node, vipdnsd owning
# the VIPs), adds a wildcard *.wild.lab. to its copy of the lab. zone, and:
#   0. capacity: kxdpgun overload (SOAK_CAP_SECS) on the hit set from the
#      lab's client, through the router: the socket path's answered/s
#      (vipdnsd's XDP fast path is off: no xdp-interface), the ceiling;
#      then the rate it carries with the soak's own mix (SOAK_MISS_PCT %
#      fresh misses), by bisection below that ceiling (SOAK_CAP_STEPS runs
#      of SOAK_CAP_SECS each, "carried" = >= 99.9 % answered and <= 0.1 %
#      SERVFAIL): the capacity the load is a share of;
#   1. phase "clean": SOAK_MINUTES at SOAK_LOAD_PCT % of that rate, a mix of
#      (100 - SOAK_MISS_PCT) % hits over the cached hit set and
#      SOAK_MISS_PCT % misses, every one a name never asked before
#      (m<run tag>-<n>.wild.lab., A and AAAA);
#   2. phase "faults": the same load and length, and during it
#        every 10 s        SIGHUP to vipdnsd (reload, cache kept)
#        every 30 s        vipdnsctl flush-all
#        at 20 % .. 25 %   the lab. authoritative server (the one every miss
#                          needs, 198.51.100.3 / 2001:db8:53::3) stopped, then
#                          started again
#        at 40 % .. 60 %   50 % of the packets to that server dropped by an
#                          XDP program (bpf_get_prandom_u32) on the auth end of
#                          the node's uplink (no netem in this kernel)
#        at 70 %           the node's BIRD killed (SIGKILL) and, 2 s later,
#                          started again (the router loses the VIP's route in
#                          between: with one node those queries are lost by
#                          design, and counted)
#        last 30 %         only the SIGHUPs and flushes: answers must be back.
# Every minute it prints: elapsed, vipdnsd RSS (VmRSS), open fds, cache bytes
# and entries (vipdnsctl stats), queries sent, answered, lost (sent without an
# answer), SERVFAIL so far, and the machine's busy CPUs over that minute
# (ours included) with the number of other load generators running.  At the
# end of each phase: totals per rcode and a verdict:
#   flat     RSS, fds and cache bytes at the last minute at most 10 % above
#            minute 2 (minute 1 when the phase is shorter than 3 minutes);
#            cache bytes never above cache-size; the same vipdnsd PID alive
#   lost     clean: lost == 0;  faults: lost == 0 in the last minute (after
#            the last fault), the phase's total lost printed
#
# The generator is kxdpgun (AF_XDP on the client's veth): 80 % of the
# capacity is well above what dnsperf sends from one core here (~80-110k
# qps, benchmarks/README.md).  It runs in SOAK_WINDOW-second windows, each
# over a file of fresh queries written while the previous window runs, so
# a miss is never repeated; "lost" is kxdpgun's queries minus its replies.
# kxdpgun needs a few seconds to start and stop, so the "qps" column (sent
# over the minute's wall time) is a little below the target.  To tell where
# lost queries went, each phase also prints vipdnsd's own counters (queries
# received, answers by rcode, over_limit...) and the drop counters of the
# veth ends on the path.
#
# Environment (defaults in brackets):
#   SOAK_MINUTES [10]   length of each phase;   SOAK_LOAD_PCT [80]
#   SOAK_MISS_PCT [30]  share of misses;        SOAK_QPS []  fixed rate
#                       instead of SOAK_LOAD_PCT % of the measured capacity
#   SOAK_PHASES ["clean faults"]   SOAK_CAP_SECS [10]   SOAK_CAP_STEPS [6]
#   SOAK_WINDOW [60]    seconds per kxdpgun run (divides 60)
#   SOAK_DROP_PCT [50]  drop rate of the XDP fault
#   BENCH_GEN_CPU [0]  BENCH_RES_CPU [1]   BENCH_KEEP [0] keep the work dir
# Needs root, kxdpgun, bird2, clang, python3, taskset and the lab's tools.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
MINUTES=${SOAK_MINUTES:-10}
LOAD_PCT=${SOAK_LOAD_PCT:-80}
MISS_PCT=${SOAK_MISS_PCT:-30}
FIXED_QPS=${SOAK_QPS:-}
read -r -a PHASES <<<"${SOAK_PHASES:-clean faults}"
CAP_SECS=${SOAK_CAP_SECS:-10}
WINDOW=${SOAK_WINDOW:-60}
DROP_PCT=${SOAK_DROP_PCT:-50}
GEN_CPU=${BENCH_GEN_CPU:-0}
RES_CPU=${BENCH_RES_CPU:-1}
KEEP=${BENCH_KEEP:-0}

export VDLAB=vdsoak$$
export VDLAB_DIR=/tmp/$VDLAB
VIP=203.0.113.1

log() { printf 'soak: %s\n' "$*" >&2; }
die() { printf 'soak: ERROR: %s\n' "$*" >&2; exit 1; }
num() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a number (got '$2')"; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
VIPDNSCTL=$(dirname "$VIPDNSD")/vipdnsctl
[[ -x $VIPDNSCTL ]] || die "vipdnsctl not found beside vipdnsd"
for c in kxdpgun bird birdc clang taskset ip dig python3; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done
num SOAK_MINUTES "$MINUTES"; num SOAK_LOAD_PCT "$LOAD_PCT"; num SOAK_MISS_PCT "$MISS_PCT"
num SOAK_CAP_SECS "$CAP_SECS"; num SOAK_WINDOW "$WINDOW"; num SOAK_DROP_PCT "$DROP_PCT"
[[ -z $FIXED_QPS ]] || num SOAK_QPS "$FIXED_QPS"
((MINUTES >= 1 && MISS_PCT <= 100 && DROP_PCT <= 100)) || die "SOAK_MINUTES >= 1, percentages <= 100"
((WINDOW >= 2 && 60 % WINDOW == 0)) || die "SOAK_WINDOW must divide 60 (2..60)"
for p in "${PHASES[@]}"; do [[ $p == clean || $p == faults ]] || die "SOAK_PHASES: clean and/or faults"; done
(($(nproc) > RES_CPU && $(nproc) > GEN_CPU)) || die "needs CPUs $GEN_CPU and $RES_CPU"

WORK=$(mktemp -d /tmp/vdsoak-work.XXXXXX)
RES_PID=""      # vipdnsd, started by the lab (its PID file)
GEN_JOB=""      # background writer of the next window's queries
FAULT_JOB=""    # background fault schedule of phase "faults"
PERIODIC_JOB="" # background SIGHUP / flush-all loop of phase "faults"

cleanup() {
  local rc=$?
  local pid
  for pid in "$FAULT_JOB" "$PERIODIC_JOB" "$GEN_JOB"; do
    [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$FAULT_JOB" "$PERIODIC_JOB" "$GEN_JOB"; do
    [[ -n $pid ]] && wait "$pid" 2>/dev/null || true
  done
  if ((KEEP)) && [[ -n ${NODE1_LOG:-} && -f ${NODE1_LOG:-} ]]; then
    # stopped first, so the kept log has its shutdown too (with an ASan
    # build: LeakSanitizer's report)
    "$LAB" resolver-stop 1 >/dev/null 2>&1 || true
    cp -- "$NODE1_LOG" "$WORK/vipdnsd.log" 2>/dev/null || true
    cp -- "$VDLAB_DIR/node1/bird.log" "$WORK/bird-node1.log" 2>/dev/null || true
  fi
  # the lab stops what it started (vipdnsd, NSD, BIRD) by PID and deletes
  # its namespaces, taking the XDP programs along
  "$LAB" down >/dev/null 2>&1 || true
  if ((KEEP)); then log "work dir kept: $WORK"; else rm -rf -- "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ lab
log "bringing up anycast lab $VDLAB (1 node, BIRD on router and node)"
"$LAB" up --anycast --nodes 1 --no-resolver --vipdnsd "$VIPDNSD" >"$WORK/lab.log" 2>&1 ||
  { cat "$WORK/lab.log" >&2; die "lab up failed"; }
# shellcheck disable=SC1091
source "$VDLAB_DIR/lab.env"
NS_NODE=$NS_NODE1

# wildcard for misses that all exist (same as common.sh's bench_lab_up),
# in this lab's copy of the zone only
printf '; added by benchmarks/soak.sh\n*.wild 300 A 203.0.113.87\n*.wild 300 AAAA 2001:db8::87\n' \
  >>"$VDLAB_DIR/zones/lab.zone"
"$LAB" auth-stop >/dev/null 2>&1
"$LAB" auth-start >/dev/null 2>&1 || die "restarting NSD with the wildcard failed"
ip netns exec "$NS_AUTH" dig +short +norecurse @"$AUTH_LAB4" probe.wild.lab. A |
  grep -qx 203.0.113.87 || die "wildcard *.wild.lab. not served"

# The node's config as the lab wrote it, with two changes: 8 MB socket
# buffers (the sysctls cannot be raised in a namespace) and the health
# canary moved from *.lab. to *.example.  The canary resolves a fresh name
# through the VIP: under *.lab. it fails while the lab. server is stopped,
# the only node withdraws its VIP and every query is lost, which measures
# the withdraw policy (tests/integration/test_anycast.sh), not whether the
# daemon survives the outage.  example. is served by another NSD.
sed -i -e 's/^health-canary = .*/health-canary = *.example. A/' "$NODE1_CONF"
grep -qx 'health-canary = \*\.example\. A' "$NODE1_CONF" || die "no health-canary line in $NODE1_CONF"
grep -q '^cache-size = 64M$' "$NODE1_CONF" || die "$NODE1_CONF: expected cache-size = 64M"
printf '# --- benchmarks/soak.sh\nso-rcvbuf = 8M\nso-sndbuf = 8M\n' >>"$NODE1_CONF"
"$VIPDNSD" -t -c "$NODE1_CONF" >/dev/null || die "vipdnsd rejects $NODE1_CONF"

"$LAB" resolver-start 1 >>"$WORK/lab.log" 2>&1 || { tail -n 20 "$WORK/lab.log" >&2; die "vipdnsd did not start"; }
"$LAB" bird-start 1 >>"$WORK/lab.log" 2>&1 || die "BIRD on node1 did not start"
RES_PID=$(<"$NODE1_PIDFILE")
[[ $(ip netns identify "$RES_PID") == "$NS_NODE" ]] || die "PID $RES_PID is not vipdnsd in $NS_NODE"
taskset -a -p -c "$RES_CPU" "$RES_PID" >/dev/null || die "cannot pin vipdnsd to CPU $RES_CPU"

# route_up: the router has the VIP from BGP and the client gets answers
route_up() {
  ip -n "$NS_ROUTER" route show "$VIP4" 2>/dev/null | grep -q 'dev n1' &&
    ip netns exec "$NS_CLIENT" dig +time=1 +tries=1 @"$VIP4" www.lab. A 2>/dev/null | grep -q 'status: NOERROR'
}
wait_route() {   # wait_route SECONDS: event-driven (polls), bounded
  local deadline=$((SECONDS + $1))
  until route_up; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
wait_route 60 || die "router did not learn $VIP4 from node1 over BGP (logs: $VDLAB_DIR/node1/)"
log "vipdnsd PID $RES_PID pinned to CPU $RES_CPU, $VIP4 announced over BGP"

# kxdpgun sends from the client's veth end with AF_XDP: the router's end
# needs an XDP program to receive them (LAB-NOTES: XDP on veth)
GEN_PEER_NS=$NS_ROUTER GEN_PEER_DEV=c0
cat >"$WORK/pass.c" <<'EOF'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
BPF_INC=/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
clang -O2 -g -target bpf -I"$BPF_INC" -c "$WORK/pass.c" -o "$WORK/pass.o" ||
  die "building the XDP_PASS program failed"
ip -n "$GEN_PEER_NS" link set dev "$GEN_PEER_DEV" xdpdrv obj "$WORK/pass.o" sec xdp ||
  die "attaching XDP_PASS to $GEN_PEER_NS/$GEN_PEER_DEV failed"

# The fault "an authoritative server dropping packets": an XDP program on the
# auth end (n1) of the node's uplink drops DROP_PCT % of the packets (any
# protocol) addressed to the lab. server, at random per packet.
# (the addresses as comparisons with constants: no global data in the object)
addr_expr() {
  python3 -c 'import ipaddress,sys; print(" && ".join("d[%d] == %d" % (i, b) for i, b in enumerate(ipaddress.ip_address(sys.argv[1]).packed)))' "$1"
}
v4expr=$(addr_expr "$AUTH_LAB4") v6expr=$(addr_expr "$AUTH_LAB6")
cat >"$WORK/drop.c" <<EOF
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

static __u32 (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;

#define DROP_PCT $DROP_PCT

__attribute__((section("xdp"), used)) int xdp_drop_some(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	const __u8 *d;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == __builtin_bswap16(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		d = (const __u8 *)&ip->daddr;
		if (!($v4expr))
			return XDP_PASS;
	} else if (eth->h_proto == __builtin_bswap16(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		d = (const __u8 *)&ip6->daddr;
		if (!($v6expr))
			return XDP_PASS;
	} else {
		return XDP_PASS;
	}
	return bpf_get_prandom_u32() % 100 < DROP_PCT ? XDP_DROP : XDP_PASS;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
# (the byte swaps assume a little-endian host, which -target bpf follows)
[[ $(python3 -c 'import sys; print(sys.byteorder)') == little ]] || die "drop program assumes little endian"
clang -O2 -g -target bpf -I"$BPF_INC" -c "$WORK/drop.c" -o "$WORK/drop.o" ||
  die "building the drop program failed"

drop_on()  { ip -n "$NS_AUTH" link set dev n1 xdpdrv obj "$WORK/drop.o" sec xdp; }
drop_off() { ip -n "$NS_AUTH" link set dev n1 xdpdrv off; }

# share of queries to the lab. server answered, from the node (200 queries,
# answers collected for 2 s): shows the drop program at work
auth_answer_pct() {
  ip netns exec "$NS_NODE" python3 - "$AUTH_LAB4" <<'PY'
import random, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.1)
ids = set()
for i in range(200):
    qid = random.getrandbits(16)
    ids.add(qid)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + b"\x03www\x03lab\x00" + struct.pack(">HH", 1, 1)
    s.sendto(q, (sys.argv[1], 53))
got, end = set(), time.time() + 2
while time.time() < end and len(got) < len(ids):
    try:
        d = s.recv(4096)
    except socket.timeout:
        continue
    got.add(struct.unpack(">H", d[:2])[0])
print(100 * len(got & ids) // len(ids))
PY
}
drop_on || die "attaching the drop program to $NS_AUTH/n1 failed"
pct=$(auth_answer_pct)
drop_off
log "drop program self-check: $pct% of 200 queries to $AUTH_LAB4 answered with it attached (expect ~$((100 - DROP_PCT))%)"

# ------------------------------------------------------------------ queries
bench_write_hits "$WORK/hits.txt"
TAG=$(printf '%06x' $((RANDOM * 32768 + RANDOM)))

# gen_window FILE FIRST COUNT: COUNT queries, MISS_PCT % of them fresh names
# m<TAG>-<FIRST + k>.wild.lab. spread evenly, the rest the hit set in turn
cat >"$WORK/gen.py" <<'PY'
import sys
out, tag, first, count, miss = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
hits = [l for l in open(sys.argv[6]).read().splitlines() if l.strip()]
lines, m, acc = [], first, 0
for i in range(count):
    acc += miss
    if acc >= 100:          # Bresenham: exactly miss % of every 100
        acc -= 100
        lines.append("m%s-%d.wild.lab. %s\n" % (tag, m, "A" if m % 2 == 0 else "AAAA"))
        m += 1
    else:
        lines.append(hits[i % len(hits)] + "\n")
with open(out + ".tmp", "w") as f:
    f.writelines(lines)
import os
os.rename(out + ".tmp", out)
print(m)
PY
NEXT_MISS=0
gen_start() {   # gen_start FILE COUNT: in the background
  nice python3 "$WORK/gen.py" "$1" "$TAG" "$NEXT_MISS" "$2" "$MISS_PCT" "$WORK/hits.txt" >"$1.next" &
  GEN_JOB=$!
}
gen_wait() {
  wait "$GEN_JOB" || die "writing queries failed"
  GEN_JOB=""
}

# ------------------------------------------------------------------ sampling
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$RES_PID/status"; }
# the fewest open fds of 5 looks 0.5 s apart: a flush-all swaps in fresh
# libunbound contexts whose sockets briefly overlap the old ones'
fd_count() {
  local i n min=""
  for i in 1 2 3 4 5; do
    n=$(find "/proc/$RES_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
    [[ -z $min ]] || ((n < min)) && min=$n
    ((i == 5)) || sleep 0.5
  done
  echo "$min"
}
ctl() { ip netns exec "$NS_NODE" "$VIPDNSCTL" -s "$NODE1_CTL" "$@"; }
cache_stat() { ctl stats 2>/dev/null | awk -F= -v k="cache.$1" '$1 == k {print $2}'; }
others() {   # load generators on the machine that are not ours
  local n=0 p
  for p in $(pgrep -x kxdpgun; pgrep -x dnsperf); do
    [[ $p == "${KX_PID:-}" ]] || n=$((n + 1))
  done
  echo "$n"
}
# kx_field FILE WHAT: "sent", "answered", or an rcode name
kx_field() {
  case $2 in
    sent) awk '/total queries:/{print $3; exit}' "$1" ;;
    answered) awk '/total replies:/{print $3; exit}' "$1" ;;
    *) awk -v r="$2" '$1 == "responded" && $2 == r":" {print $3; exit}' "$1" ;;
  esac | grep -E '^[0-9]+$' || echo 0
}

# counters: vipdnsd's counters that say where queries went (name=value)
counters() {
  ctl stats 2>/dev/null | awk -F= '
    $1 ~ /^rcode\./ { ans += $2 }
    $1 ~ /^(queries_udp|over_limit|recursions|recursion_timeouts|recursion_failures|stale_served|send_errors|dropped_acl|dropped_malformed)$/ { print }
    END { print "answers=" ans }'
}
# path_drops: drop counters (rx, tx) of every veth end on the client-VIP path
path_drops() {
  local ns dev
  for ns_dev in "$NS_CLIENT r0" "$NS_ROUTER c0" "$NS_ROUTER n1" "$NS_NODE dn0"; do
    read -r ns dev <<<"$ns_dev"
    ip -n "$ns" -s link show dev "$dev" | awk -v d="${ns#"$VDLAB"-}/$dev" '
      /RX:/ { getline; rx = $4 } /TX:/ { getline; tx = $4 } END { print d "=" rx "/" tx }'
  done
  # datagrams the node's kernel dropped because a socket's receive buffer
  # was full (the daemon not reading fast enough), and other UDP input errors
  ip netns exec "$NS_NODE" cat /proc/net/snmp |
    awk '$1 == "Udp:" && !h { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
         $1 == "Udp:" { for (i = 2; i <= NF; i++) v[n[i]] = $i }
         END { print "node1/udp=" v["RcvbufErrors"] "/" v["InErrors"] }'
}
report_counters() {   # report_counters PHASE: deltas over the phase
  local p=$1
  echo "vipdnsd counters over the phase: $(awk -F= 'NR == FNR { a[$1] = $2; next } { printf "%s %d  ", $1, $2 - a[$1] }' \
    "$WORK/$p.ctr0" "$WORK/$p.ctr1")"
  echo "drops over the phase (veth rx/tx; node1/udp: RcvbufErrors/InErrors): $(awk -F'[=/]' 'NR == FNR { r[$1 "/" $2] = $3; t[$1 "/" $2] = $4; next }
    { printf "%s %d/%d  ", $1 "/" $2, $3 - r[$1 "/" $2], $4 - t[$1 "/" $2] }' "$WORK/$p.drops0" "$WORK/$p.drops1")"
}

# ------------------------------------------------------------------ capacity
idle=$(idle_busy)
log "background busy CPUs before the run (nothing of ours loading): $(awk -v t="$idle" -v h="$HZ" 'BEGIN{printf "%.2f", t/h/2}') of $(nproc)"
ip netns exec "$NS_CLIENT" dig +time=2 @"$VIP" . SOA >/dev/null || true
while read -r name type; do
  ip netns exec "$NS_CLIENT" dig +time=2 @"$VIP" "$name" "$type" >/dev/null || true
done <"$WORK/hits.txt"
NS_GEN=$NS_CLIENT SECS=2 kxdpgun_run warm 20000
# mix_try QPS: CAP_SECS seconds of the soak's own mix (fresh misses
# included) at QPS; true when the node answered at least 99.9% of it and
# SERVFAILed at most 0.1%: a rate it carries, not one it sheds
mix_try() {
  local qps=$1 f="$WORK/cap-$1.txt" kx sent ans sf
  gen_start "$f" $((qps * CAP_SECS)); gen_wait; NEXT_MISS=$(<"$f.next")
  NS_GEN=$NS_CLIENT SECS=$CAP_SECS kxdpgun_run "cap-$qps" "$qps" "$f"
  rm -f -- "$f"
  kx=$WORK/cap-$qps.kx
  sent=$(kx_field "$kx" sent) ans=$(kx_field "$kx" answered) sf=$(kx_field "$kx" SERVFAIL)
  log "  mix at $qps qps: sent $sent, answered $ans, SERVFAIL $sf"
  wait_route 30 || die "VIP unreachable after a capacity step"
  ((sent > 0 && ans * 1000 >= sent * 999 && sf * 1000 <= sent))
}
if [[ -n $FIXED_QPS ]]; then
  QPS=$FIXED_QPS CAP=""
  log "rate fixed by SOAK_QPS: $QPS qps"
else
  # The hit-only overload rate is the ceiling; what the node carries with
  # MISS_PCT % misses is found below it by bisection on the mix itself
  # (a rate the hits allow but the misses do not is shed, not carried).
  log "capacity: kxdpgun overload ${CAP_SECS}s on the hit set (socket path, through the router)"
  NS_GEN=$NS_CLIENT SECS=$CAP_SECS kxdpgun_run capacity 5000000
  HITCAP=$(awk '/total replies:/{gsub(/[()]/, "", $4); print $4; exit}' "$WORK/capacity.kx")
  [[ $HITCAP =~ ^[0-9]+$ ]] && ((HITCAP > 0)) || { cat "$WORK/capacity.kx" >&2; die "no capacity figure"; }
  wait_route 30 || die "VIP unreachable after the capacity test"
  log "hit-only capacity $HITCAP answered/s; now the rate carried with $MISS_PCT% misses (${SOAK_CAP_STEPS:-6} steps)"
  lo=0 hi=$HITCAP q=$((HITCAP / 4))
  for ((step = 0; step < ${SOAK_CAP_STEPS:-6}; step++)); do
    if mix_try "$q"; then lo=$q; else hi=$q; fi
    if ((lo == 0)); then q=$((hi / 2)); else q=$(((lo + hi) / 2)); fi
  done
  ((lo > 0)) || die "no rate with $MISS_PCT% misses was carried (last tried $hi qps)"
  CAP=$lo
  QPS=$((CAP * LOAD_PCT / 100))
  log "capacity with $MISS_PCT% misses $CAP qps (first failing $hi); soak rate $LOAD_PCT% = $QPS qps"
fi
PER_WIN=$((QPS * WINDOW))
wait_route 30 || die "VIP unreachable after the capacity test"

# ------------------------------------------------------------------ faults
# fault_log T0 TEXT: wall time, seconds since T0, seconds of load (load_elapsed)
fault_log() {
  printf '%s +%5.1fs load %3ss  %s\n' "$(date -u +%T)" "$(awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" \
    "$(load_elapsed)" "$2" >>"$WORK/faults.log"
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%d", b-a}'; }

# load_elapsed: seconds of load so far in this phase, counted per minute of
# load (the main loop writes "MINUTE START" to $WORK/minute when a minute's
# first kxdpgun starts), so that the schedule follows the load and not the
# wall clock (kxdpgun's start and stop take a few seconds per window)
load_elapsed() {
  local m start
  read -r m start 2>/dev/null <"$WORK/minute" || { echo 0; return; }
  awk -v m="$m" -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{e = b - a; if (e > 60) e = 60; printf "%d", (m - 1) * 60 + e}'
}

# periodic T0: SIGHUP every 10 s, flush-all every 30 s, until the main loop
# stops it at the end of the phase (its own job, so that a slow fault action
# never delays them)
periodic() {
  local t0=$1 el next_hup=10 next_flush=30 rc
  trap 'exit 0' TERM
  while el=$(elapsed "$t0"); :; do
    if ((el >= next_hup)); then
      if kill -HUP "$RES_PID" 2>/dev/null; then fault_log "$t0" "SIGHUP"; else fault_log "$t0" "SIGHUP failed"; fi
      next_hup=$((next_hup + 10))
    fi
    if ((el >= next_flush)); then
      rc=0; ctl flush-all >/dev/null 2>&1 || rc=$?
      fault_log "$t0" "flush-all (vipdnsctl exit $rc)"
      next_flush=$((next_flush + 30))
    fi
    sleep 0.2
  done
}

# fault_schedule T0 LEN: the one-off faults of a phase of LEN seconds of
# load that started at T0 (epoch seconds, fractional; the log's times are
# wall-clock seconds since T0), placed by load_elapsed
fault_schedule() {
  local t0=$1 len=$2 el
  local auth_stop_at=$((len * 20 / 100)) auth_start_at=$((len * 25 / 100))
  local drop_at=$((len * 40 / 100)) undrop_at=$((len * 60 / 100))
  local bird_at=$((len * 70 / 100)) state=0 pid
  trap 'drop_off 2>/dev/null; exit 0' TERM
  while el=$(load_elapsed); ((state < 5)); do
    if ((state == 0 && el >= auth_stop_at)); then
      pid=$(<"$AUTH_LAB_PIDFILE")
      if [[ $(ip netns identify "$pid" 2>/dev/null) == "$NS_AUTH" ]]; then
        kill -TERM "$pid"; fault_log "$t0" "lab. NSD (pid $pid) stopped"
      else fault_log "$t0" "lab. NSD pid $pid not found"; fi
      state=1
    elif ((state == 1 && el >= auth_start_at)); then
      "$LAB" auth-start >/dev/null 2>&1 && fault_log "$t0" "lab. NSD started again (serving)" ||
        fault_log "$t0" "lab. NSD restart FAILED"
      state=2
    elif ((state == 2 && el >= drop_at)); then
      drop_on && fault_log "$t0" "XDP drop of $DROP_PCT% of packets to $AUTH_LAB4/$AUTH_LAB6 on"
      state=3
    elif ((state == 3 && el >= undrop_at)); then
      drop_off && fault_log "$t0" "XDP drop off"
      state=4
    elif ((state == 4 && el >= bird_at)); then
      pid=$(<"$NODE1_BIRD_PIDFILE")
      if [[ $(ip netns identify "$pid" 2>/dev/null) == "$NS_NODE" ]]; then
        kill -KILL "$pid"; fault_log "$t0" "node1 BIRD (pid $pid) killed (SIGKILL)"
        sleep 2
        "$LAB" bird-start 1 >/dev/null 2>&1 && fault_log "$t0" "node1 BIRD started again" ||
          fault_log "$t0" "node1 BIRD restart FAILED"
        if wait_route 60; then fault_log "$t0" "router has the VIP route again, client answered"
        else fault_log "$t0" "VIP route NOT back within 60 s"; fi
      else fault_log "$t0" "node1 BIRD pid $pid not found"; fi
      state=5
    fi
    sleep 0.2
  done
}

# ------------------------------------------------------------------ phases
CACHE_LIMIT=$((64 * 1048576))   # the lab's cache-size = 64M (checked above)
: >"$WORK/faults.log"
run_phase() {
  local phase=$1 len=$((MINUTES * 60)) wins=$((60 / WINDOW)) m w f t0 s0 s1
  local sent=0 ans=0 sf=0 min_sent min_ans w0 w1
  local -a RSS FD CB
  declare -A RC=()
  : >"$WORK/$phase.minutes"
  log "phase $phase: $MINUTES min at $QPS qps ($MISS_PCT% fresh misses), kxdpgun windows of ${WINDOW}s"
  f=$WORK/q-$phase-next.txt
  gen_start "$f" "$PER_WIN"; gen_wait; NEXT_MISS=$(<"$f.next")
  counters >"$WORK/$phase.ctr0"; path_drops >"$WORK/$phase.drops0"
  rm -f "$WORK/minute"
  t0=$(date +%s.%N)
  if [[ $phase == faults ]]; then
    fault_schedule "$t0" "$len" &
    FAULT_JOB=$!
    periodic "$t0" &
    PERIODIC_JOB=$!
  fi
  printf '%-6s %3s %7s %8s %4s %10s %7s %10s %10s %8s %8s %9s %5s %3s\n' phase min qps RSS_kB fds cache_bytes \
    entries sent answered lost lost_min SERVFAIL busy oth | tee -a "$WORK/$phase.minutes"
  for ((m = 1; m <= MINUTES; m++)); do
    min_sent=0 min_ans=0
    s0=$(sys_busy); w0=$(date +%s%N)
    for ((w = 1; w <= wins; w++)); do
      mv "$f" "$WORK/q-cur.txt"
      ((w > 1)) || { echo "$m $(date +%s.%N)" >"$WORK/minute.tmp"; mv "$WORK/minute.tmp" "$WORK/minute"; }
      ((m == MINUTES && w == wins)) || gen_start "$f" "$PER_WIN"
      ip netns exec "$NS_CLIENT" kxdpgun -t "$WINDOW" -Q "$QPS" -F "$GEN_CPU" \
        -i "$WORK/q-cur.txt" "$VIP" >"$WORK/kx-$phase-$m-$w.txt" 2>&1 &
      KX_PID=$!
      wait "$KX_PID" || { cat "$WORK/kx-$phase-$m-$w.txt" >&2; die "kxdpgun failed"; }
      KX_PID=""
      min_sent=$((min_sent + $(kx_field "$WORK/kx-$phase-$m-$w.txt" sent)))
      min_ans=$((min_ans + $(kx_field "$WORK/kx-$phase-$m-$w.txt" answered)))
      for r in NOERROR NXDOMAIN SERVFAIL REFUSED FORMERR; do
        RC[$r]=$(( ${RC[$r]:-0} + $(kx_field "$WORK/kx-$phase-$m-$w.txt" "$r") ))
      done
      if [[ -n $GEN_JOB ]]; then gen_wait; NEXT_MISS=$(<"$f.next"); fi
    done
    s1=$(sys_busy); w1=$(date +%s%N)
    kill -0 "$RES_PID" 2>/dev/null || die "vipdnsd (PID $RES_PID) died in phase $phase, minute $m: $(tail -n 5 "$NODE1_LOG")"
    sent=$((sent + min_sent)) ans=$((ans + min_ans)) sf=${RC[SERVFAIL]}
    RSS[m]=$(rss_kb) FD[m]=$(fd_count) CB[m]=$(cache_stat bytes)
    printf '%-6s %3s %7s %8s %4s %10s %7s %10s %10s %8s %8s %9s %5s %3s\n' "$phase" "$m" \
      "$((min_sent * 1000 / ((w1 - w0) / 1000000)))" "${RSS[m]}" "${FD[m]}" \
      "${CB[m]:-?}" "$(cache_stat entries)" "$sent" "$ans" "$((sent - ans))" "$((min_sent - min_ans))" "$sf" \
      "$(awk -v t="$((s1 - s0))" -v h="$HZ" -v ms="$(((w1 - w0) / 1000000))" 'BEGIN{printf "%.2f", t/h/(ms/1000)}')" "$(others)" |
      tee -a "$WORK/$phase.minutes"
    echo "$m $min_sent $min_ans" >>"$WORK/$phase.lost"
  done
  if [[ -n $FAULT_JOB ]]; then
    wait "$FAULT_JOB" || true; FAULT_JOB=""
    kill -TERM "$PERIODIC_JOB" 2>/dev/null || true
    wait "$PERIODIC_JOB" || true; PERIODIC_JOB=""
  fi
  counters >"$WORK/$phase.ctr1"; path_drops >"$WORK/$phase.drops1"

  # ---- verdict
  local ref=2 ok=1 v last=$MINUTES lost=$((sent - ans)) lastlost
  ((MINUTES >= 3)) || ref=1
  echo
  echo "== phase $phase: $MINUTES min, $QPS qps target, $MISS_PCT% misses =="
  [[ $phase == faults ]] && { echo "fault timeline:"; sed 's/^/  /' "$WORK/faults.log"; }
  echo "sent $sent  answered $ans  lost $lost ($(awk -v l="$lost" -v s="$sent" 'BEGIN{printf "%.4f", s ? 100*l/s : 0}')%)  SERVFAIL ${RC[SERVFAIL]}  NOERROR ${RC[NOERROR]}  NXDOMAIN ${RC[NXDOMAIN]}  REFUSED ${RC[REFUSED]}  FORMERR ${RC[FORMERR]}"
  echo "answered/s over the phase (wall time): $((ans * 1000000000 / ($(date +%s%N) - ${t0/./})))"
  report_counters "$phase"
  judge RSS "${RSS[ref]:-0}" "${RSS[last]:-0}"
  judge fds "${FD[ref]:-0}" "${FD[last]:-0}"
  judge cache_bytes "${CB[ref]:-0}" "${CB[last]:-0}"
  local maxcb=0 x
  for x in "${CB[@]}"; do [[ $x =~ ^[0-9]+$ ]] && ((x > maxcb)) && maxcb=$x; done
  if ((maxcb <= CACHE_LIMIT)); then echo "PASS  cache bytes <= cache-size: max $maxcb of $CACHE_LIMIT"
  else echo "FAIL  cache bytes above cache-size: max $maxcb of $CACHE_LIMIT"; ok=0; fi
  if [[ $(<"$NODE1_PIDFILE") == "$RES_PID" ]] && kill -0 "$RES_PID" 2>/dev/null; then
    echo "PASS  vipdnsd PID $RES_PID alive throughout"
  else echo "FAIL  vipdnsd restarted or gone"; ok=0; fi
  if [[ $phase == clean ]]; then
    if ((lost == 0)); then echo "PASS  lost == 0"; else echo "FAIL  lost $lost (expected 0)"; ok=0; fi
  else
    read -r _ x lastlost <<<"$(tail -n 1 "$WORK/$phase.lost")"
    lastlost=$((x - lastlost))
    if ((lastlost == 0)); then echo "PASS  lost == 0 in the last minute (after the faults); $lost lost over the phase"
    else echo "FAIL  lost $lastlost in the last minute (after the faults); $lost over the phase"; ok=0; fi
  fi
  ((ok)) && echo "verdict phase $phase: PASS" || echo "verdict phase $phase: FAIL"
  echo
  PHASE_OK=$((PHASE_OK && ok))
}

# judge WHAT REF LAST: the last minute at most 10 % above the reference
# minute (a fall is no leak: e.g. fds sampled during a flush at minute 2);
# uses phase, ref, last, ok of run_phase
judge() {
  local v=$1 a=$2 b=$3
  if awk -v a="$a" -v b="$b" 'BEGIN{exit !(a > 0 && b <= a * 1.10)}'; then
    echo "PASS  $v flat: minute $ref $a, minute $last $b (at most 10% above)"
  elif [[ $v == cache_bytes && $phase == faults ]]; then
    # flush-all every 30 s empties the cache: only its bound is judged
    echo "info  $v minute $ref $a, minute $last $b (flush-all every 30 s: judged by its bound only)"
  else
    echo "FAIL  $v not flat: minute $ref $a, minute $last $b"; ok=0
  fi
}

PHASE_OK=1
for p in "${PHASES[@]}"; do
  wait_route 30 || die "VIP unreachable before phase $p"
  run_phase "$p"
done
grep -c 'ERROR\|AddressSanitizer\|runtime error' "$NODE1_LOG" >/dev/null &&
  log "vipdnsd log lines with ERROR/sanitizer: $(grep -c 'ERROR\|AddressSanitizer\|runtime error' "$NODE1_LOG")"
log "conditions: kernel $(uname -r), CPU '$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)' x $(nproc), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
log "tools: $(kxdpgun -V 2>&1 | head -1); $(bird --version 2>&1 | head -1); vipdnsd $VIPDNSD"
((PHASE_OK))
