#!/usr/bin/env bash
# Upstream cost of misses: how many packets the authorities see, and how
# long a miss takes, for the same cold miss workload at several thread
# counts, vipdnsd against Debian's unbound in the same run.
#
#   benchmarks/bench_upstream.sh [PATH_TO_VIPDNSD]     (default ./build/src/vipdnsd)
#
# A resolver's threads should share what recursion learns (delegations,
# DNSKEYs, server RTT and EDNS state): unbound's threads share one set of
# caches, and so do vipdnsd's workers, through the node's one recursion
# engine (src/resolve/engine.c).  When each worker had contexts of its own
# (review issue 8, defect 14), each primed the root and fetched the same
# keys and delegations again, and the authorities saw more queries per
# miss as workers were added; this measures that it stays at unbound's.
#
# For each thread count T (BENCH_THREADS) and each resolver, started cold:
# BENCH_UP_N distinct names under the lab's wildcard *.wild.lab. (DO set,
# so the chain from the signed root is validated) sent by dnsperf at
# BENCH_UP_QPS, then the same names with CD=1 through a second client; the
# figure is the packets the node sent towards the authorities (tx_packets
# of its upstream veth) per distinct name, and miss latency p50/p99.
#
# Environment: BENCH_THREADS ["1 2 4"], BENCH_UP_N [400], BENCH_UP_QPS [200],
# BENCH_GEN_CPU [0], BENCH_RES_CPU [1] (the resolver gets the other CPUs
# too when T > 1), BENCH_KEEP [0].
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
read -r -a THREADS <<<"${BENCH_THREADS:-1 2 4}"
N=${BENCH_UP_N:-400}
QPS=${BENCH_UP_QPS:-200}
GEN_CPU=${BENCH_GEN_CPU:-0}
RES_CPU=${BENCH_RES_CPU:-1}
KEEP=${BENCH_KEEP:-0}
export BENCH_PATH=direct

export VDLAB=vdup$$
export VDLAB_DIR=/tmp/$VDLAB
VIP=203.0.113.1

log() { printf 'upstream: %s\n' "$*" >&2; }
die() { printf 'upstream: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
for c in dnsperf unbound unbound-checkconf clang taskset ip dig python3; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done

WORK=$(mktemp -d /tmp/vdup-work.XXXXXX)
RES_PID=""
NS_CLIENT=$VDLAB-client NS_ROUTER=$VDLAB-router NS_NODE=$VDLAB-node1
NS_DIRECT=$VDLAB-gen

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_lab_up

# every thread count gets all CPUs from RES_CPU on (T > CPUs: shared)
res_cpus() { echo "$RES_CPU-$(($(nproc) - 1))"; }

upstream_tx() { ip netns exec "$NS_NODE" cat /sys/class/net/up0/statistics/tx_packets; }

# cd_query FILE: every name of FILE once with CD=1 (and DO), one at a time
cd_query() {
  ip netns exec "$NS_GEN" python3 - "$VIP" "$1" <<'PY'
import random, socket, struct, sys
vip, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
ok = 0
for line in open(path):
    name, qtype = line.split()
    qid = random.getrandbits(16)
    q = struct.pack("!HHHHHH", qid, 0x0110, 1, 0, 0, 1)   # RD + CD
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", 28 if qtype == "AAAA" else 1, 1)
    q += b"\0" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)   # OPT, DO
    s.sendto(q, (vip, 53))
    try:
        a = s.recv(4096)
        if a[:2] == q[:2] and a[3] & 0xf == 0:
            ok += 1
    except socket.timeout:
        pass
print(ok)
PY
}

for t in "${THREADS[@]}"; do
  tag=$(printf '%06x' $((RANDOM * 32768 + RANDOM)))
  awk -v n="$N" -v tag="$tag" 'BEGIN { for (i = 0; i < n; i++) printf "u%s-%d.wild.lab. A\n", tag, i }' \
    >"$WORK/names-$t.txt"
  awk -v n="$N" -v tag="$tag" 'BEGIN { for (i = 0; i < n; i++) printf "u%s-%d.wild.lab. AAAA\n", tag, i }' \
    >"$WORK/cd-$t.txt"
  vipdnsd_conf | sed -e "s/^threads = .*/threads = $t/" >"$WORK/vipdns-$t.conf"
  unbound_conf | sed -e "s/^  num-threads: .*/  num-threads: $t/" \
    -e "s/^  so-reuseport: .*/  so-reuseport: yes/" >"$WORK/unbound-$t.conf"
  "$VIPDNSD" -t -c "$WORK/vipdns-$t.conf" >/dev/null || die "vipdnsd rejects its config"
  unbound-checkconf "$WORK/unbound-$t.conf" >/dev/null || die "unbound rejects its config"
  for r in vipdnsd unbound; do
    RES_CPU_SAVED=$RES_CPU; RES_CPU=$(res_cpus)
    if [[ $r == vipdnsd ]]; then
      bench_start_resolver "$r" "$NS_GEN" "$VIPDNSD" -c "$WORK/vipdns-$t.conf"
    else
      bench_start_resolver "$r" "$NS_GEN" unbound -d -c "$WORK/unbound-$t.conf"
    fi
    RES_CPU=$RES_CPU_SAVED
    wait_quiet
    log "[$r threads=$t] $N cold names with DO, then $N with CD=1"
    tx0=$(upstream_tx)
    ip netns exec "$NS_GEN" taskset -c "$GEN_CPU" dnsperf -s "$VIP" -d "$WORK/names-$t.txt" \
      -D -n 1 -Q "$QPS" -c 8 -t 5 -v >"$WORK/$r-$t.dp" 2>&1 || die "dnsperf failed"
    tx1=$(upstream_tx)
    cd_ok=$(cd_query "$WORK/cd-$t.txt")
    tx2=$(upstream_tx)
    echo "$((tx1 - tx0)) $((tx2 - tx1)) $cd_ok" >"$WORK/$r-$t.tx"
    stop_resolver
  done
done

python3 - "$WORK" "$N" "${THREADS[@]}" <<'PY'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
threads = [int(x) for x in sys.argv[3:]]
def lat(path):
    v, st = [], {}
    for line in open(path):
        if line.startswith("> "):
            f = line.split()
            st[f[1]] = st.get(f[1], 0) + 1
            if f[1] != "T":
                v.append(float(f[-1]))
    v.sort()
    p = lambda q: v[min(len(v) - 1, int(q * len(v)))] * 1e3 if v else float("nan")
    return p(0.5), p(0.99), st
print()
print("== upstream packets per cold miss and miss latency, same run ==")
print("%-8s %-8s %10s %10s %9s %9s %8s  %s" % ("threads", "resolver", "pkts/miss", "CD pk/miss",
      "p50 ms", "p99 ms", "CD ok", "rcodes"))
fig = {}
for t in threads:
    for r in ("vipdnsd", "unbound"):
        a, b, cd_ok = map(int, open(os.path.join(work, "%s-%d.tx" % (r, t))).read().split())
        p50, p99, st = lat(os.path.join(work, "%s-%d.dp" % (r, t)))
        fig[(r, t)] = (a / n, b / n)
        print("%-8d %-8s %10.2f %10.2f %9.1f %9.1f %8d  %s" % (t, r, a / n, b / n, p50, p99, cd_ok, st))
print()
print("== target: upstream queries per miss within 10% of unbound's at every thread count ==")
for t in threads:
    v, u = fig[("vipdnsd", t)], fig[("unbound", t)]
    for i, what in ((0, "DO misses"), (1, "CD=1 misses")):
        q = v[i] / u[i] if u[i] else float("nan")
        print("%s  threads=%d %s: vipdnsd/unbound = %.2f" % ("PASS" if q <= 1.10 else "FAIL", t, what, q))
PY
