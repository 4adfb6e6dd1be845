#!/usr/bin/env bash
# A zone's authorities down for ten minutes across the fleet (issue 14):
# every node keeps answering from stale (EDE 3), and when the authorities
# return the nodes refresh without a thundering herd.
#
#   benchmarks/outage.sh [PATH_TO_VIPDNSD]   (default ./build/src/vipdnsd)
#
# Three lab nodes behind the VIP (the router spreads clients by ECMP), the
# lab's NSD hierarchy with a wildcard so every nK.wild.lab. exists, TTL
# BENCH_TTL (60 s: every name expires early in the outage).  The client
# sends BENCH_QPS queries/s over BENCH_NAMES names (uniform) through the
# VIP with dnsperf for the whole run (up to 2000 outstanding: many
# clients, each waiting its own stale-client-timeout now and then):
#   warm     each node asked every name once (from inside it), then
#            BENCH_WARM_SECS through the VIP with the authorities up;
#   outage   the authorities stopped for BENCH_OUTAGE_SECS; each minute's
#            rcodes as dnsperf saw them, and the nodes' stale answers;
#   return   the authorities back; the recursions the three nodes start
#            per second (vipdnsctl stats, summed), for BENCH_RETURN_SECS.
# Printed: per minute NOERROR/SERVFAIL shares and stale answers; after the
# return, recursions per second (peak, mean) and when the first fresh
# answer came back.
#
# Environment: BENCH_NAMES [2000] BENCH_QPS [500] BENCH_TTL [60]
# BENCH_WARM_SECS [30] BENCH_OUTAGE_SECS [600] BENCH_RETURN_SECS [60]
# BENCH_KEEP [0].  Root, dnsperf, python3, the lab's tools.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
NAMES=${BENCH_NAMES:-2000}
QPS=${BENCH_QPS:-500}
export BENCH_WILD_TTL=${BENCH_TTL:-60}
WARM=${BENCH_WARM_SECS:-30}
OUTAGE=${BENCH_OUTAGE_SECS:-600}
RETURN=${BENCH_RETURN_SECS:-60}
KEEP=${BENCH_KEEP:-0}
NODES=3

export VDLAB=vdout$$
export VDLAB_DIR=/tmp/$VDLAB

log() { printf 'outage: %s\n' "$*" >&2; }
die() { printf 'outage: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
CTL=$(dirname "$VIPDNSD")/vipdnsctl
[[ -x $CTL ]] || die "vipdnsctl not found beside vipdnsd"
for c in dnsperf python3 ip dig; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done

WORK=$(mktemp -d /tmp/vdout-work.XXXXXX)
DP_PID=""
cleanup() {
  [[ -n $DP_PID ]] && kill "$DP_PID" 2>/dev/null || true
  "$LAB" down >/dev/null 2>&1 || true
  if [[ $KEEP == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

cat >"$WORK/extra.conf" <<EOF
serve-stale = yes
stale-max-age = 3600
stale-answer-ttl = 30
EOF
log "bringing up lab $VDLAB ($NODES nodes)"
"$LAB" up --nodes "$NODES" --vipdnsd "$VIPDNSD" --extra-conf "$WORK/extra.conf" \
  >"$WORK/lab.log" 2>&1 || { cat "$WORK/lab.log" >&2; die "lab up failed"; }
# shellcheck disable=SC1091
source "$VDLAB_DIR/lab.env"
bench_add_wildcard

python3 - "$NAMES" "$WORK/names.txt" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for k in range(n):
        f.write("n%d.wild.lab. A\n" % k)
PY

# counters summed over the nodes
sum_stat() {
  local i v t=0
  for ((i = 1; i <= NODES; i++)); do
    local ns=NS_NODE$i
    v=$(ip netns exec "${!ns}" "$CTL" -s "$VDLAB_DIR/node$i/control.sock" stats 2>/dev/null |
        awk -F= -v k="$1" '$1 == k {print $2}')
    t=$((t + ${v:-0}))
  done
  echo "$t"
}

# one dnsperf window from the client through the VIP; prints
# "noerror servfail other lost" as dnsperf counted them
window() {   # window SECS TAG
  ip netns exec "$NS_CLIENT" dnsperf -s "$VIP4" -d "$WORK/names.txt" -l "$1" \
    -Q "$QPS" -c 8 -q 2000 -t 3 >"$WORK/dnsperf.$2" 2>&1 || true
  python3 - "$WORK/dnsperf.$2" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def grab(pat):
    m = re.search(pat, t)
    return int(m.group(1)) if m else 0
sent = grab(r"Queries sent:\s+(\d+)")
lost = grab(r"Queries lost:\s+(\d+)")
codes = dict((k, int(v)) for k, v in re.findall(r"(NOERROR|SERVFAIL|NXDOMAIN|REFUSED|FORMERR) (\d+)", t))
print(sent, codes.get("NOERROR", 0), codes.get("SERVFAIL", 0),
      sum(v for k, v in codes.items() if k not in ("NOERROR", "SERVFAIL")), lost)
PY
}

# Every node caches every name first (the ECMP hash gives each client
# socket one node; a name a node never saw would be a plain miss in the
# outage, not a stale answer, and is not what is measured here).
for ((i = 1; i <= NODES; i++)); do
  ns=NS_NODE$i
  ip netns exec "${!ns}" dnsperf -s 127.0.0.1 -d "$WORK/names.txt" -n 1 -Q 2000 \
    >"$WORK/dnsperf.fill$i" 2>&1 || die "filling node$i failed"
done
log "warm: ${WARM} s at $QPS qps over $NAMES names (TTL $BENCH_WILD_TTL)"
read -r sent ok sf other lost < <(window "$WARM" warm)
printf 'warm           sent %6d  NOERROR %6.2f%%  SERVFAIL %5.2f%%  lost %d\n' \
  "$sent" "$(python3 -c "print(100*$ok/max($sent,1))")" "$(python3 -c "print(100*$sf/max($sent,1))")" "$lost" |
  tee "$WORK/report.txt"

log "outage: authorities stopped for $OUTAGE s"
"$LAB" auth-stop >/dev/null 2>&1
for ((m = 1; m * 60 <= OUTAGE; m++)); do
  s0=$(sum_stat stale_served)
  read -r sent ok sf other lost < <(window 60 "out$m")
  s1=$(sum_stat stale_served)
  printf 'outage min %-3d sent %6d  NOERROR %6.2f%%  SERVFAIL %5.2f%%  lost %d  stale answers %d\n' \
    "$m" "$sent" "$(python3 -c "print(100*$ok/max($sent,1))")" "$(python3 -c "print(100*$sf/max($sent,1))")" \
    "$lost" "$((s1 - s0))" | tee -a "$WORK/report.txt"
done

log "return: authorities back; recursions per second for $RETURN s"
ip netns exec "$NS_CLIENT" dnsperf -s "$VIP4" -d "$WORK/names.txt" -l "$RETURN" \
  -Q "$QPS" -c 8 -q 2000 -t 3 >"$WORK/dnsperf.return" 2>&1 &
DP_PID=$!
sleep 1
r_prev=$(sum_stat recursions)
"$LAB" auth-start >/dev/null 2>&1
t0=$SECONDS
first_fresh=""
: >"$WORK/rps.txt"
while ((SECONDS - t0 < RETURN)); do
  sleep 1
  r=$(sum_stat recursions)
  echo $((r - r_prev)) >>"$WORK/rps.txt"
  r_prev=$r
  if [[ -z $first_fresh ]] &&
     ! ip netns exec "$NS_CLIENT" dig +time=1 +tries=1 @"$VIP4" n1.wild.lab. A 2>/dev/null | grep -q 'EDE: 3'; then
    first_fresh=$((SECONDS - t0))
  fi
done
wait "$DP_PID" || true
DP_PID=""
python3 - "$WORK/rps.txt" "$NAMES" "$NODES" "${first_fresh:-none}" <<'PY' | tee -a "$WORK/report.txt"
import sys
v = [int(x) for x in open(sys.argv[1]) if x.strip()]
names, nodes = int(sys.argv[2]), int(sys.argv[3])
peak = max(v) if v else 0
mean = sum(v) / len(v) if v else 0
print("return         recursions/s over %d s: peak %d, mean %.0f, total %d "
      "(%d names x %d nodes = %d); first fresh n1.wild.lab. after %s s"
      % (len(v), peak, mean, sum(v), names, nodes, names * nodes, sys.argv[4]))
print("               per second: " + " ".join(str(x) for x in v))
PY
