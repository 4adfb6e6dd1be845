#!/usr/bin/env bash
# DNS over TLS (RFC 7858): vipdnsd against Debian's unbound, in one run.
#
#   benchmarks/bench_dot.sh [PATH_TO_VIPDNSD]      (default ./build/src/vipdnsd)
#
# One namespace lab (tests/lab/lab.sh, prefix "vdbench<pid>"); each
# resolver in turn on the lab's node, 1 worker pinned to CPU 1, the same
# essentials as bench_resolver.sh (common.sh), both serving DoT on
# VIP@853 with the same P-256 certificate.  The generators sit in their own
# namespace on CPU 0 (BENCH_PATH=direct).  For each resolver:
#   1. answers/s over DoT with dnsperf -m dot: BENCH_CLIENTS connections,
#      BENCH_NAMES distinct names under a wildcard (all warmed over UDP
#      first, so every DoT query is a cache hit), BENCH_SECS seconds;
#   2. latency percentiles at a fixed rate below saturation (dnsperf -v);
#   3. handshakes/s with openssl s_time: new sessions (full handshakes)
#      and resumed ones.
# It prints the figures and the ratios vipdnsd/unbound.
#
# Environment: BENCH_SECS [10], BENCH_CLIENTS [32], BENCH_NAMES [10000],
# BENCH_LAT_QPS [5000], BENCH_GEN_CPU [0], BENCH_RES_CPU [1], BENCH_KEEP [0].
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
SECS=${BENCH_SECS:-10}
CLIENTS=${BENCH_CLIENTS:-32}
NAMES=${BENCH_NAMES:-10000}
LAT_QPS=${BENCH_LAT_QPS:-5000}
GEN_CPU=${BENCH_GEN_CPU:-0}
RES_CPU=${BENCH_RES_CPU:-1}
KEEP=${BENCH_KEEP:-0}
export BENCH_PATH=direct

export VDLAB=vdbench$$
export VDLAB_DIR=/tmp/$VDLAB
VIP=203.0.113.1

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
for c in dnsperf unbound unbound-checkconf openssl clang taskset ip dig python3; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done

WORK=$(mktemp -d /tmp/vdbench-work.XXXXXX)
RES_PID=""
NS_CLIENT=$VDLAB-client NS_ROUTER=$VDLAB-router NS_NODE=$VDLAB-node1
NS_DIRECT=$VDLAB-gen
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_lab_up

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$WORK/dot.key" -out "$WORK/dot.pem" -days 2 -subj "/CN=dns.example" \
  -addext "subjectAltName=DNS:dns.example,IP:$VIP" 2>/dev/null || die "certificate"
chmod 0644 "$WORK/dot.key"

vipdnsd_conf "listen = $VIP@853" "tls-service-key = $WORK/dot.key" \
  "tls-service-pem = $WORK/dot.pem" "answer-cookie = no" >"$WORK/vipdns.conf"
{
  unbound_conf | sed '/^remote-control:/,$d'
  cat <<EOF
  interface: $VIP@853
  tls-port: 853
  tls-service-key: "$WORK/dot.key"
  tls-service-pem: "$WORK/dot.pem"
remote-control:
  control-enable: no
EOF
} >"$WORK/unbound.conf"
"$VIPDNSD" -t -c "$WORK/vipdns.conf" >/dev/null || die "vipdnsd rejects $WORK/vipdns.conf"
unbound-checkconf "$WORK/unbound.conf" >/dev/null || die "unbound rejects $WORK/unbound.conf"

python3 - "$WORK/names.txt" "$NAMES" <<'PY'
import sys, random
path, n = sys.argv[1], int(sys.argv[2])
tag = "%06x" % random.getrandbits(24)
with open(path, "w") as f:
    for i in range(n):
        f.write("d%s-%d.wild.lab. A\n" % (tag, i))
PY

start_resolver() {
  if [[ $1 == vipdnsd ]]; then
    bench_start_resolver "$1" "$NS_GEN" "$VIPDNSD" -c "$WORK/vipdns.conf"
  else
    bench_start_resolver "$1" "$NS_GEN" unbound -d -c "$WORK/unbound.conf"
  fi
}

gen() { ip netns exec "$NS_GEN" taskset -c "$GEN_CPU" "$@"; }

for r in vipdnsd unbound; do
  log "[$r] start; warm $NAMES names over UDP"
  start_resolver "$r"
  gen dnsperf -s "$VIP" -d "$WORK/names.txt" -n 1 -Q 2000 -t 5 >"$WORK/$r-warm.dp" 2>&1 ||
    die "$r: warming failed"
  log "[$r] dnsperf -m dot, $CLIENTS connections, $SECS s"
  wait_quiet
  gen dnsperf -m dot -s "$VIP" -d "$WORK/names.txt" -c "$CLIENTS" -q 512 -l "$SECS" -t 5 \
    >"$WORK/$r-max.dp" 2>&1 || die "$r: dnsperf -m dot failed: $(tail -3 "$WORK/$r-max.dp")"
  log "[$r] latency at $LAT_QPS qps"
  wait_quiet
  gen dnsperf -m dot -s "$VIP" -d "$WORK/names.txt" -c 8 -Q "$LAT_QPS" -l "$SECS" -t 5 -v \
    >"$WORK/$r-lat.dp" 2>&1 || die "$r: dnsperf latency failed"
  for mode in new reuse; do
    log "[$r] openssl s_time -$mode, $SECS s"
    wait_quiet
    gen openssl s_time -connect "$VIP:853" -"$mode" -time "$SECS" >"$WORK/$r-$mode.st" 2>&1 || true
  done
  stop_resolver
done

python3 - "$WORK" <<'PY'
import os, re, sys
work = sys.argv[1]
def qps(name):
    t = open(os.path.join(work, name + ".dp")).read()
    m = re.search(r"Queries per second:\s+([\d.]+)", t)
    lost = re.search(r"Queries lost:\s+(\d+)", t)
    return float(m.group(1)) if m else float("nan"), int(lost.group(1)) if lost else -1
def lat(name):
    v = []
    for line in open(os.path.join(work, name + ".dp")):
        if line.startswith("> "):
            f = line.split()
            if f[1] != "T":
                v.append(float(f[-1]))
    v.sort()
    p = lambda q: v[min(len(v) - 1, int(q / 100.0 * len(v)))] * 1e6 if v else float("nan")
    return p(50), p(99)
def st(name):
    # "N connections in M real seconds": per wall second.  The other
    # line s_time prints divides by the client's own CPU time, which
    # says nothing about the server.
    t = open(os.path.join(work, name + ".st")).read()
    n = re.findall(r"(\d+) connections in (\d+) real seconds", t)
    if n:
        c, s = n[-1]
        return int(c) / float(s)
    return float("nan")
R = ("vipdnsd", "unbound")
f = {}
for r in R:
    q, lost = qps(r + "-max")
    p50, p99 = lat(r + "-lat")
    f[r] = dict(qps=q, lost=lost, p50=p50, p99=p99, new=st(r + "-new"), reuse=st(r + "-reuse"))
print("DNS over TLS, 1 worker each, every query a cache hit")
print("%-34s %12s %12s %8s" % ("", "vipdnsd", "unbound", "ratio"))
def row(label, key, fmt, better_high=True):
    a, b = f["vipdnsd"][key], f["unbound"][key]
    ratio = a / b if b else float("nan")
    print("%-34s %12s %12s %7.2fx" % (label, fmt % a, fmt % b, ratio))
row("answers/s (dnsperf -m dot)", "qps", "%.0f")
row("hit latency p50 (us)", "p50", "%.0f")
row("hit latency p99 (us)", "p99", "%.0f")
row("full handshakes/s (s_time -new)", "new", "%.0f")
row("resumed handshakes/s (-reuse)", "reuse", "%.0f")
print("queries lost: vipdnsd %d, unbound %d" % (f["vipdnsd"]["lost"], f["unbound"]["lost"]))
PY
