#!/usr/bin/env bash
# Resolver core (socket path) benchmark: vipdnsd against Debian's unbound.
#
#   benchmarks/bench_resolver.sh [PATH_TO_VIPDNSD]      (default ./build/src/vipdnsd)
#
# One run brings up its own namespace lab (tests/lab/lab.sh, prefix
# "vdbench<pid>"), then runs each resolver in turn on the lab's node with the
# same essentials (1 worker thread pinned to CPU 1, DNSSEC validation on,
# QNAME minimisation, 0x20, aggressive NSEC, 8 MB socket buffers, prefetch and
# serve-stale off, minimal logging) and measures, with the load generators
# pinned to CPU 0 in the client namespace:
#   1. answers/s under overload from kxdpgun (AF_XDP, native mode on veth),
#      100% cache hits on a small fixed set of names;
#   2. CPU per answer: the resolver's utime+stime (/proc/PID/stat) and the
#      whole machine's busy time (/proc/stat), over the overload window and
#      at a fixed rate below saturation;
#   3. hit latency percentiles with dnsperf -v (per-answer latency) at a
#      fixed rate well below saturation;
#   4. miss latency: resolver restarted (empty caches), unique names under a
#      wildcard, dnsperf -v at a modest rate.
# It prints the figures, the ratios vipdnsd/unbound and PASS/FAIL per target.
#
# Where the generators sit (BENCH_PATH): "direct" (default) puts them in a
# namespace of their own joined to the node by a dedicated veth pair, so a
# query and its answer cross one veth and nothing else; "router" uses the
# lab's client namespace, behind the lab's router namespace.  On veth the
# receiving side's processing runs on the sending CPU, so with "router" the
# router's forwarding of every answer runs on the resolver's CPU inside its
# send calls: a large per-answer cost that is neither resolver's and that
# compresses every ratio (benchmarks/README.md).  Both resolvers always get
# the same path and the same hierarchy behind the node.
#
# Environment (defaults in brackets):
#   BENCH_SECS [10]        length of each kxdpgun window
#   BENCH_ROUNDS [3]       overload windows per resolver (alternating; medians)
#   BENCH_FIXED_QPS [50000] kxdpgun rate for the below-saturation CPU figure
#   BENCH_LAT_QPS [20000]  dnsperf rate for hit latency;  BENCH_LAT_SECS [10]
#   BENCH_COLD_N [2000]    unique names for miss latency; BENCH_COLD_QPS [200]
#   BENCH_GEN_CPU [0]  BENCH_RES_CPU [1]   CPUs for generators / resolver
#   BENCH_PATH [direct]    direct | router: where the generators sit (above)
#   BENCH_PERF [0]         1 = one more overload window for vipdnsd under
#                          perf record; its profile is printed at the end
#   BENCH_KEEP [0]         1 = keep the work dir
# Needs root, kxdpgun (knot-dnsutils), dnsperf, unbound, clang, taskset and
# what tests/lab/lab.sh needs (deploy/install-deps.sh installs all of them).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
SECS=${BENCH_SECS:-10}
FIXED_QPS=${BENCH_FIXED_QPS:-50000}
LAT_QPS=${BENCH_LAT_QPS:-20000}
LAT_SECS=${BENCH_LAT_SECS:-10}
COLD_N=${BENCH_COLD_N:-2000}
COLD_QPS=${BENCH_COLD_QPS:-200}
GEN_CPU=${BENCH_GEN_CPU:-0}
RES_CPU=${BENCH_RES_CPU:-1}
DO_PERF=${BENCH_PERF:-0}
ROUNDS=${BENCH_ROUNDS:-3}
KEEP=${BENCH_KEEP:-0}
export BENCH_PATH=${BENCH_PATH:-direct}

export VDLAB=vdbench$$
export VDLAB_DIR=/tmp/$VDLAB
VIP=203.0.113.1

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ $BENCH_PATH == direct || $BENCH_PATH == router ]] || die "BENCH_PATH must be direct or router"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
for c in kxdpgun dnsperf unbound unbound-checkconf clang taskset ip dig python3; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done
((DO_PERF == 0)) || command -v perf >/dev/null || die "BENCH_PERF=1 needs perf (linux-perf)"
(($(nproc) > RES_CPU && $(nproc) > GEN_CPU)) || die "needs CPUs $GEN_CPU and $RES_CPU"

WORK=$(mktemp -d /tmp/vdbench-work.XXXXXX)
RES_PID=""
NS_CLIENT=$VDLAB-client NS_ROUTER=$VDLAB-router NS_NODE=$VDLAB-node1
NS_DIRECT=$VDLAB-gen   # BENCH_PATH=direct: the generators' own namespace

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ lab
bench_lab_up

# ------------------------------------------------------------------ resolvers
bench_write_hits "$WORK/hits.txt"

vipdnsd_conf >"$WORK/vipdns.conf"
unbound_conf >"$WORK/unbound.conf"
"$VIPDNSD" -t -c "$WORK/vipdns.conf" >/dev/null || die "vipdnsd rejects $WORK/vipdns.conf"
unbound-checkconf "$WORK/unbound.conf" >/dev/null || die "unbound rejects $WORK/unbound.conf"

start_resolver() {   # start_resolver vipdnsd|unbound
  if [[ $1 == vipdnsd ]]; then
    bench_start_resolver "$1" "$NS_GEN" "$VIPDNSD" -c "$WORK/vipdns.conf"
  else
    bench_start_resolver "$1" "$NS_GEN" unbound -d -c "$WORK/unbound.conf"
  fi
}

# ------------------------------------------------------------------ measuring

# dnsperf_lat NAME FILE QPS EXTRA...: per-answer latencies (-v) into NAME.dp
dnsperf_lat() {
  local name=$1 file=$2 qps=$3; shift 3
  wait_quiet
  ip netns exec "$NS_GEN" taskset -c "$GEN_CPU" dnsperf -s "$VIP" -d "$file" \
    -Q "$qps" -t 2 -v "$@" >"$WORK/$name.dp" 2>&1 || { tail "$WORK/$name.dp" >&2; die "dnsperf failed"; }
}

python3 - "$WORK/cold.txt" "$COLD_N" <<'PY'
import sys, random
path, n = sys.argv[1], int(sys.argv[2])
tag = "%06x" % random.getrandbits(24)   # fresh names per run
with open(path, "w") as f:
    for i in range(n):
        f.write("c%s-%d.wild.lab. A\n" % (tag, i))
PY

warm() {   # warm R: every hit name answered NOERROR, then 2 s of overload
  local q t
  while read -r q t; do
    ip netns exec "$NS_GEN" dig +time=2 +tries=2 @"$VIP" "$q" "$t" >"$WORK/warm.out" 2>&1 || true
    grep -q 'status: NOERROR' "$WORK/warm.out" || die "$1: warming $q $t failed: $(grep status: "$WORK/warm.out")"
  done <"$WORK/hits.txt"
  ip netns exec "$NS_GEN" kxdpgun -t 2 -Q 2000000 -F "$GEN_CPU" -i "$WORK/hits.txt" "$VIP" \
    >/dev/null 2>&1 || true
}

# 1+2. overload windows, the resolvers alternating, ROUNDS times (drift in
# the machine's background load then hits both alike)
for ((k = 1; k <= ROUNDS; k++)); do
  for r in vipdnsd unbound; do
    log "[$r] round $k/$ROUNDS: background busy (2 s), start, warm, kxdpgun overload $SECS s"
    idle_busy >"$WORK/$r-overload-$k.idle"
    start_resolver "$r"
    warm "$r"
    kxdpgun_run "$r-overload-$k" 5000000
    stop_resolver
  done
done

if ((DO_PERF)); then   # separate window: perf's overhead stays out of the figures
  log "[vipdnsd] perf record under overload, $SECS s"
  start_resolver vipdnsd
  warm vipdnsd
  kxdpgun_run vipdnsd-perf 5000000
  stop_resolver
fi

# 2 (fixed rate), 3 (hit latency), 4 (miss latency)
for r in vipdnsd unbound; do
  idle_busy >"$WORK/$r-lat.idle"
  log "[$r] start, warm; kxdpgun at $FIXED_QPS qps for $SECS s; dnsperf hits at $LAT_QPS qps for $LAT_SECS s"
  start_resolver "$r"
  warm "$r"
  kxdpgun_run "$r-fixed" "$FIXED_QPS"
  dnsperf_lat "$r-hit" "$WORK/hits.txt" "$LAT_QPS" -l "$LAT_SECS"
  log "[$r] restart with empty caches; $COLD_N unique names at $COLD_QPS qps"
  stop_resolver
  start_resolver "$r"
  dnsperf_lat "$r-cold" "$WORK/cold.txt" "$COLD_QPS" -n 1
  stop_resolver
done

# ------------------------------------------------------------------ report
if ((DO_PERF)) && [[ -s $WORK/perf.data ]]; then
  {
    echo "-- self time by object"
    perf report -i "$WORK/perf.data" --no-children -g none --stdio --sort dso 2>/dev/null |
      grep -E '^ +[0-9]' | head -8
    echo "-- self time, top symbols"
    perf report -i "$WORK/perf.data" --no-children -g none --stdio --sort dso,symbol 2>/dev/null |
      grep -E '^ +[0-9]' | head -25
    echo "-- time including callees: system calls and softirq work run inside them"
    perf report -i "$WORK/perf.data" --children -g none --stdio --sort symbol 2>/dev/null |
      grep -E '^ +[0-9]' | grep -E '\] (__sendmmsg|__recvmmsg|__x64_sys_\w+|net_rx_action|ip_forward|veth_xmit|__xsk_map_redirect|vd_pipeline_handle|epoll_wait)\b' | head -12
  } | sed 's/ *- *- *$//' >"$WORK/perf.top" || true
fi

python3 - "$WORK" "$HZ" "$SECS" "$(nproc)" "$DO_PERF" "$FIXED_QPS" "$LAT_QPS" "$LAT_SECS" "$COLD_N" "$COLD_QPS" "$ROUNDS" <<'PY'
import os, re, sys, statistics
work = sys.argv[1]
hz, secs, ncpu, do_perf = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fixed_qps, lat_qps, lat_secs, cold_n, cold_qps, rounds = map(int, sys.argv[6:12])
R = ("vipdnsd", "unbound")

def kx(name):
    t = open(os.path.join(work, name + ".kx")).read()
    sent = int(re.search(r"total queries:\s+(\d+)", t).group(1))
    m = re.search(r"total replies:\s+(\d+) \((\d+) pps\)", t)
    rep, pps = int(m.group(1)), int(m.group(2))
    m = re.search(r"responded NOERROR:\s+(\d+)", t)
    noerr = int(m.group(1)) if m else 0
    p, s, ms = map(int, open(os.path.join(work, name + ".cpu")).read().split())
    return dict(sent=sent, rep=rep, pps=pps, noerr=noerr, proc_s=p / hz, sys_s=s / hz, wall=ms / 1000.0)

def lat(name):
    v, sent = [], 0
    status = {}
    for line in open(os.path.join(work, name + ".dp")):
        if line.startswith("> "):
            f = line.split()
            status[f[1]] = status.get(f[1], 0) + 1
            if f[1] != "T":
                v.append(float(f[-1]))
        m = re.match(r"\s+Queries sent:\s+(\d+)", line)
        if m:
            sent = int(m.group(1))
    v.sort()
    def pct(p):
        return v[min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1)] * 1e6 if v else float("nan")
    return dict(n=len(v), sent=sent, status=status, p50=pct(50), p90=pct(90), p99=pct(99),
                mean=(sum(v) / len(v) * 1e6 if v else float("nan")))

runs = {r: [kx("%s-overload-%d" % (r, i)) for i in range(1, rounds + 1)] for r in R}
ov = {}
for r in R:
    # median per figure over the rounds; CPU figures scaled so that "rep"
    # (answers) and the CPU seconds keep their per-answer ratio
    m = {}
    for key in ("sent", "rep", "pps", "noerr", "wall"):
        m[key] = statistics.median(x[key] for x in runs[r])
    pa = statistics.median(x["proc_s"] / max(1, x["rep"]) for x in runs[r])
    sa = statistics.median(x["sys_s"] / max(1, x["rep"]) for x in runs[r])
    pc = statistics.median(x["proc_s"] / x["wall"] for x in runs[r])
    sc = statistics.median(x["sys_s"] / x["wall"] for x in runs[r])
    m["proc_s"], m["sys_s"] = pa * m["rep"], sa * m["rep"]
    m["proc_cores"], m["sys_cores"] = pc, sc
    ov[r] = m
fx = {r: kx(r + "-fixed") for r in R}
hit = {r: lat(r + "-hit") for r in R}
cold = {r: lat(r + "-cold") for r in R}
idle = {r: [int(open(os.path.join(work, "%s-overload-%d.idle" % (r, i))).read()) / hz / 2.0
            for i in range(1, rounds + 1)] for r in R}
idle_lat = {r: int(open(os.path.join(work, r + "-lat.idle")).read()) / hz / 2.0 for r in R}

def ratio(a, b):
    return a / b if b else float("nan")

print()
print("== vipdnsd vs unbound, resolver core (socket path), 1 worker thread ==")
print("generators -> node path: %s" % {"direct": "direct (own veth pair to the node)",
      "router": "router (lab client -> router namespace -> node)"}[os.environ["BENCH_PATH"]])
print("background load before each overload window (busy CPUs of %d): vipdnsd %s, unbound %s"
      % (ncpu, " ".join("%.2f" % x for x in idle["vipdnsd"]), " ".join("%.2f" % x for x in idle["unbound"])))
print("background load before the fixed-rate/latency phases: vipdnsd %.2f, unbound %.2f"
      % (idle_lat["vipdnsd"], idle_lat["unbound"]))
if max(max(v) for v in idle.values()) > 0.15 or max(idle_lat.values()) > 0.15:
    print("WARNING: the machine was not idle (other work running): figures are unreliable, run again")
print()
hdr = "%-46s %14s %14s %10s" % ("", "vipdnsd", "unbound", "v/u")
print(hdr)
def row(label, a, b, fmt="%14.1f"):
    print("%-46s " % label + fmt % a + " " + fmt % b + " %10.3f" % ratio(a, b))

print("-- 1. cache hits under kxdpgun overload (%g s windows, median of %d alternating rounds)" % (secs, rounds))
for i in range(rounds):
    a, b = runs["vipdnsd"][i]["pps"], runs["unbound"][i]["pps"]
    print("%-46s %14.0f %14.0f %10.3f" % ("answered/s, round %d" % (i + 1), a, b, ratio(a, b)))
row("queries sent/s", ov["vipdnsd"]["sent"] / secs, ov["unbound"]["sent"] / secs, "%14.0f")
row("answered/s", ov["vipdnsd"]["pps"], ov["unbound"]["pps"], "%14.0f")
row("answered, % of sent", 100.0 * ov["vipdnsd"]["rep"] / max(1, ov["vipdnsd"]["sent"]),
    100.0 * ov["unbound"]["rep"] / max(1, ov["unbound"]["sent"]))
row("NOERROR, % of answered", 100.0 * ov["vipdnsd"]["noerr"] / max(1, ov["vipdnsd"]["rep"]),
    100.0 * ov["unbound"]["noerr"] / max(1, ov["unbound"]["rep"]))
print("-- 2. CPU per answer (us)")
print("   (overload as in 1.; fixed = kxdpgun -Q %d, answered %d/s vs %d/s)"
      % (fixed_qps, fx["vipdnsd"]["pps"], fx["unbound"]["pps"]))
for tag, d in (("overload", ov), ("fixed rate", fx)):
    row("resolver process CPU / answer, %s" % tag,
        d["vipdnsd"]["proc_s"] / max(1, d["vipdnsd"]["rep"]) * 1e6,
        d["unbound"]["proc_s"] / max(1, d["unbound"]["rep"]) * 1e6, "%14.3f")
    row("whole-machine busy / answer, %s" % tag,
        d["vipdnsd"]["sys_s"] / max(1, d["vipdnsd"]["rep"]) * 1e6,
        d["unbound"]["sys_s"] / max(1, d["unbound"]["rep"]) * 1e6, "%14.3f")
    row("resolver process CPU (cores), %s" % tag,
        d["vipdnsd"].get("proc_cores", d["vipdnsd"]["proc_s"] / d["vipdnsd"]["wall"]),
        d["unbound"].get("proc_cores", d["unbound"]["proc_s"] / d["unbound"]["wall"]), "%14.2f")
    row("whole machine busy (cores), %s" % tag,
        d["vipdnsd"].get("sys_cores", d["vipdnsd"]["sys_s"] / d["vipdnsd"]["wall"]),
        d["unbound"].get("sys_cores", d["unbound"]["sys_s"] / d["unbound"]["wall"]), "%14.2f")
print("-- 3. hit latency, dnsperf -Q %d for %d s (us)" % (lat_qps, lat_secs))
for k in ("p50", "p90", "p99", "mean"):
    row("hit %s" % k, hit["vipdnsd"][k], hit["unbound"][k])
row("hit answered / sent", hit["vipdnsd"]["n"] / max(1, hit["vipdnsd"]["sent"]),
    hit["unbound"]["n"] / max(1, hit["unbound"]["sent"]), "%14.4f")
print("-- 4. miss latency, restarted resolver, %d unique names at %d qps (us)" % (cold_n, cold_qps))
for k in ("p50", "p90", "p99", "mean"):
    row("miss %s" % k, cold["vipdnsd"][k], cold["unbound"][k])
row("miss answered / sent", cold["vipdnsd"]["n"] / max(1, cold["vipdnsd"]["sent"]),
    cold["unbound"]["n"] / max(1, cold["unbound"]["sent"]), "%14.4f")
for r in R:
    if set(cold[r]["status"]) - {"NOERROR"} or set(hit[r]["status"]) - {"NOERROR"}:
        print("   note: %s rcodes hit %s miss %s" % (r, hit[r]["status"], cold[r]["status"]))

print()
print("== targets ==")
def verdict(ok, text):
    print("%s  %s" % ("PASS" if ok else "FAIL", text))
q = ratio(ov["vipdnsd"]["pps"], ov["unbound"]["pps"])
verdict(q >= 1.5, "hit throughput: vipdnsd/unbound answered/s = %.2f (target >= 1.50)" % q)
c = ratio(ov["vipdnsd"]["proc_s"] / max(1, ov["vipdnsd"]["rep"]),
          ov["unbound"]["proc_s"] / max(1, ov["unbound"]["rep"]))
verdict(c <= 2 / 3, "CPU per answer (resolver process, overload): ratio %.2f (target <= 0.67)" % c)
c = ratio(ov["vipdnsd"]["sys_s"] / max(1, ov["vipdnsd"]["rep"]),
          ov["unbound"]["sys_s"] / max(1, ov["unbound"]["rep"]))
verdict(c <= 2 / 3, "CPU per answer (whole machine, overload): ratio %.2f (target <= 0.67)" % c)
c = ratio(fx["vipdnsd"]["proc_s"] / max(1, fx["vipdnsd"]["rep"]),
          fx["unbound"]["proc_s"] / max(1, fx["unbound"]["rep"]))
verdict(c <= 2 / 3, "CPU per answer (resolver process, fixed rate): ratio %.2f (target <= 0.67)" % c)
l = ratio(hit["vipdnsd"]["p99"], hit["unbound"]["p99"])
verdict(l <= 1.0, "hit p99 latency: %.0f us vs %.0f us, ratio %.2f (target <= 1.00)"
        % (hit["vipdnsd"]["p99"], hit["unbound"]["p99"], l))
for k in ("p50", "p99"):
    l = ratio(cold["vipdnsd"][k], cold["unbound"][k])
    verdict(l <= 1.10, "miss %s latency: %.0f us vs %.0f us, ratio %.2f (target <= 1.10)"
            % (k, cold["vipdnsd"][k], cold["unbound"][k], l))
if do_perf and os.path.exists(os.path.join(work, "perf.top")):
    print()
    print("== perf: where vipdnsd's CPU time goes under overload (self %, dso, symbol) ==")
    print(open(os.path.join(work, "perf.top")).read().rstrip())
PY

log "conditions: kernel $(uname -r), CPU '$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)' x $(nproc), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
log "tools: $(kxdpgun -V 2>&1 | head -1); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/{print $2}'); unbound $(unbound -V 2>&1 | awk '/^Version/{print $2}'); vipdnsd $VIPDNSD"
