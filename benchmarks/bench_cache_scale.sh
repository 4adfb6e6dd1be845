#!/usr/bin/env bash
# Cache scaling benchmark: what one cache hit costs as the working set
# grows, vipdnsd against Debian's unbound in the same run.
#
#   benchmarks/bench_cache_scale.sh [PATH_TO_VIPDNSD]   (default ./build/src/vipdnsd)
#
# A production cache holds hundreds of thousands of names and a hit must
# cost the same there as with a handful.  For each working set of N names
# (BENCH_SIZES; each name asked for A and AAAA, so 2N cache entries, all
# under the lab's wildcard *.wild.lab. and so all distinct and existing)
# each resolver is warmed with the whole set (every query once, through
# recursion, at BENCH_WARM_QPS), then measured under kxdpgun overload with
# two query mixes over the same cached set:
#   uniform  every entry in turn, in a random order: the pattern that
#            defeats CPU caches, as a large customer base's long tail does;
#   zipf     queries drawn with Zipf's law (s = BENCH_ZIPF_S) over the set,
#            the popularity curve resolvers see, misses none.
# Figures per (N, mix): answers/s and the resolver process's CPU per answer
# (utime+stime over answers; the per-hit cost), and that cost relative to
# the same resolver's at 10k names.  Target (issue 8): vipdnsd's per-hit
# cost stays within 20% of its 10k figure up to 1M names.
#
# Sets grow in place (the 10k names are the first 10k of the 100k set...),
# so each resolver is started once and warmed only with what is new.  Same
# essentials as bench_resolver.sh (benchmarks/common.sh): 1 worker pinned to
# BENCH_RES_CPU, generators on BENCH_GEN_CPU, direct veth path, prefetch and
# serve-stale off, caches large enough for the largest set.
#
# Environment (defaults in brackets):
#   BENCH_SIZES ["8 10000 100000 1000000"]  names per working set, ascending
#   BENCH_SECS [10]         length of each overload window
#   BENCH_WARM_QPS [15000]  kxdpgun rate while warming (every query a miss)
#   BENCH_ZIPF_S [1.0]      Zipf exponent;  BENCH_ZIPF_Q [1000000] queries per Zipf file
#   BENCH_GEN_CPU [0]  BENCH_RES_CPU [1]    BENCH_KEEP [0] keep the work dir
# Needs root, kxdpgun, unbound, clang, python3, taskset and the lab's tools.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
read -r -a SIZES <<<"${BENCH_SIZES:-8 10000 100000 1000000}"
SECS=${BENCH_SECS:-10}
WARM_QPS=${BENCH_WARM_QPS:-15000}
ZIPF_S=${BENCH_ZIPF_S:-1.0}
ZIPF_Q=${BENCH_ZIPF_Q:-1000000}
GEN_CPU=${BENCH_GEN_CPU:-0}
RES_CPU=${BENCH_RES_CPU:-1}
KEEP=${BENCH_KEEP:-0}
export BENCH_PATH=direct
# the whole run must not outlive the names' TTL (the first sets stay cached)
export BENCH_WILD_TTL=86400

export VDLAB=vdcs$$
export VDLAB_DIR=/tmp/$VDLAB
VIP=203.0.113.1

log() { printf 'cache-scale: %s\n' "$*" >&2; }
die() { printf 'cache-scale: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
VIPDNSCTL=$(dirname "$VIPDNSD")/vipdnsctl
for c in kxdpgun unbound unbound-checkconf unbound-control clang taskset ip dig python3; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done
[[ -x $VIPDNSCTL ]] || die "vipdnsctl not found beside vipdnsd"
(($(nproc) > RES_CPU && $(nproc) > GEN_CPU)) || die "needs CPUs $GEN_CPU and $RES_CPU"
prev=0
for n in "${SIZES[@]}"; do
  [[ $n =~ ^[0-9]+$ ]] && ((n > prev)) || die "BENCH_SIZES must be ascending numbers"
  prev=$n
done

WORK=$(mktemp -d /tmp/vdcs-work.XXXXXX)
RES_PID=""
NS_CLIENT=$VDLAB-client NS_ROUTER=$VDLAB-router NS_NODE=$VDLAB-node1
NS_DIRECT=$VDLAB-gen

trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_lab_up

# ------------------------------------------------------------------ query files
# all.txt: the largest set in order (name i -> A, AAAA); per size N: new-N
# (the queries not in the previous set, shuffled: warming), uni-N (all 2N,
# shuffled) and zipf-N (ZIPF_Q draws over the 2N, rank order random).
python3 - "$WORK" "$ZIPF_S" "$ZIPF_Q" "${SIZES[@]}" <<'PY'
import bisect, os, random, sys
work, s, nq = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
sizes = [int(x) for x in sys.argv[4:]]
rnd = random.Random(20261201)
def q(i):
    return "n%07d.wild.lab. %s\n" % (i // 2, "A" if i % 2 == 0 else "AAAA")
prev = 0
for n in sizes:
    m = 2 * n
    new = list(range(2 * prev, m)); rnd.shuffle(new)
    with open(os.path.join(work, "new-%d.txt" % n), "w") as f:
        f.writelines(q(i) for i in new)
    uni = list(range(m)); rnd.shuffle(uni)
    with open(os.path.join(work, "uni-%d.txt" % n), "w") as f:
        f.writelines(q(i) for i in uni)
    # rank r (1-based) has weight 1/r^s; ranks are assigned to entries at
    # random so popularity is not tied to name order
    cum, t = [], 0.0
    for r in range(1, m + 1):
        t += r ** -s
        cum.append(t)
    rank_to_entry = list(range(m)); rnd.shuffle(rank_to_entry)
    with open(os.path.join(work, "zipf-%d.txt" % n), "w") as f:
        k = max(nq, m)
        f.writelines(q(rank_to_entry[min(m - 1, bisect.bisect_left(cum, rnd.random() * t))])
                     for _ in range(k))
    prev = n
PY

# ------------------------------------------------------------------ resolvers
biggest=${SIZES[-1]}
# room for every entry of the largest set with a margin (a hit never misses
# for want of space): ~400 bytes an entry in vipdnsd, ~1 KiB over unbound's
# message and RRset caches
vd_mb=$(( (biggest * 2 * 400 / 1048576 + 64) * 3 / 2 ))
ub_mb=$(( (biggest * 2 * 1024 / 1048576 + 64) * 3 / 2 ))
vipdnsd_conf | sed -e "s/^cache-size = .*/cache-size = ${vd_mb}M/" \
  -e "s|^control-socket =.*|control-socket = $WORK/ctl.sock|" >"$WORK/vipdns.conf"
unbound_conf | sed -e "s/^  msg-cache-size: .*/  msg-cache-size: ${ub_mb}m/" \
  -e "s/^  rrset-cache-size: .*/  rrset-cache-size: $((ub_mb * 2))m/" \
  -e "s|^server:\$|server:\\n  extended-statistics: yes|" \
  -e "s|^  control-enable: no|  control-enable: yes\\n  control-interface: $WORK/ub-ctl.sock\\n  control-use-cert: no|" \
  >"$WORK/unbound.conf"
"$VIPDNSD" -t -c "$WORK/vipdns.conf" >/dev/null || die "vipdnsd rejects $WORK/vipdns.conf"
unbound-checkconf "$WORK/unbound.conf" >/dev/null || die "unbound rejects $WORK/unbound.conf"

start_resolver() {
  if [[ $1 == vipdnsd ]]; then
    bench_start_resolver "$1" "$NS_GEN" "$VIPDNSD" -c "$WORK/vipdns.conf"
  else
    bench_start_resolver "$1" "$NS_GEN" unbound -d -c "$WORK/unbound.conf"
  fi
}

# cached R: entries in R's answer cache (vipdnsd) or message cache (unbound)
cached() {
  if [[ $1 == vipdnsd ]]; then
    ip netns exec "$NS_NODE" "$VIPDNSCTL" -s "$WORK/ctl.sock" stats 2>/dev/null |
      awk -F= '$1 == "cache.entries" {print $2}'
  else
    ip netns exec "$NS_NODE" unbound-control -c "$WORK/unbound.conf" stats_noreset 2>/dev/null |
      awk -F= '$1 == "msg.cache.count" {print $2}'
  fi
}

# warm R N: every new query of the set at WARM_QPS (kxdpgun's own query
# form: EDNS flags are part of the cache key), pass after pass (at most 6)
# until R's cache holds 99% of the set: a miss that failed under the
# warming load (over max-recursions, a drop) is asked again.
warm() {
  local r=$1 n=$2 lines secs pass entries=0
  lines=$(wc -l <"$WORK/new-$n.txt")
  secs=$(( (lines + WARM_QPS - 1) / WARM_QPS + 1 ))
  for pass in 1 2 3 4 5 6; do
    log "[$r] warming pass $pass: $lines new queries of the $n-name set (${secs}s)"
    ip netns exec "$NS_GEN" kxdpgun -t "$secs" -Q "$WARM_QPS" -F "$GEN_CPU" \
      -i "$WORK/new-$n.txt" "$VIP" >"$WORK/$r-warm-$n-$pass.kx" 2>&1 ||
      { cat "$WORK/$r-warm-$n-$pass.kx" >&2; die "kxdpgun (warming) failed"; }
    entries=$(cached "$r")
    ((${entries:-0} * 100 >= 2 * n * 99)) && break
  done
  log "[$r] cache entries: ${entries:-?} (set: $((2 * n)))"
  echo "${entries:-0}" >"$WORK/$r-entries-$n"
}

for r in vipdnsd unbound; do
  idle_busy >"$WORK/$r.idle"
  start_resolver "$r"
  for n in "${SIZES[@]}"; do
    warm "$r" "$n"
    for mix in uni zipf; do
      log "[$r] $n names, $mix: kxdpgun overload ${SECS}s"
      kxdpgun_run "$r-$mix-$n" 5000000 "$WORK/$mix-$n.txt"
    done
  done
  stop_resolver
done

# ------------------------------------------------------------------ report
python3 - "$WORK" "$HZ" "$SECS" "$(nproc)" "${SIZES[@]}" <<'PY'
import os, re, sys
work, hz, secs, ncpu = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
sizes = [int(x) for x in sys.argv[5:]]
R = ("vipdnsd", "unbound")
def kx(name):
    t = open(os.path.join(work, name + ".kx")).read()
    sent = int(re.search(r"total queries:\s+(\d+)", t).group(1))
    m = re.search(r"total replies:\s+(\d+) \((\d+) pps\)", t)
    rep, pps = int(m.group(1)), int(m.group(2))
    m = re.search(r"responded NOERROR:\s+(\d+)", t)
    noerr = int(m.group(1)) if m else 0
    p, s, ms = map(int, open(os.path.join(work, name + ".cpu")).read().split())
    return dict(sent=sent, rep=rep, pps=pps, noerr=noerr,
                us=p / hz / max(1, rep) * 1e6, sys_us=s / hz / max(1, rep) * 1e6)
res = {(r, mix, n): kx("%s-%s-%d" % (r, mix, n)) for r in R for mix in ("uni", "zipf") for n in sizes}
idle = {r: int(open(os.path.join(work, r + ".idle")).read()) / hz / 2.0 for r in R}
print()
print("== cache scaling: cost of a hit against the working set, 1 worker, same run ==")
print("background busy CPUs (of %d) before each resolver: vipdnsd %.2f, unbound %.2f"
      % (ncpu, idle["vipdnsd"], idle["unbound"]))
if max(idle.values()) > 0.15:
    print("WARNING: the machine was not idle (other work running): figures are unreliable")
for n in sizes:
    for r in R:
        f = os.path.join(work, "%s-entries-%d" % (r, n))
        print("%s cache entries after warming %d names: %s (of %d)" % (r, n, open(f).read().strip(), 2 * n))
print()
print("%-8s %-5s %11s %11s %6s %9s %9s %8s %8s %7s" % (
    "names", "mix", "vd ans/s", "ub ans/s", "v/u", "vd us/ans", "ub us/ans", "vd/10k", "ub/10k", "NOERR%"))
base = {}
for mix in ("uni", "zipf"):
    for n in sizes:
        v, u = res[("vipdnsd", mix, n)], res[("unbound", mix, n)]
        ref = 10000 if 10000 in sizes else sizes[0]
        bv, bu = res[("vipdnsd", mix, ref)]["us"], res[("unbound", mix, ref)]["us"]
        print("%-8d %-5s %11d %11d %6.2f %9.3f %9.3f %8.2f %8.2f %7.1f" % (
            n, mix, v["pps"], u["pps"], v["pps"] / max(1, u["pps"]), v["us"], u["us"],
            v["us"] / bv, u["us"] / bu, 100.0 * v["noerr"] / max(1, v["rep"])))
print()
print("== targets ==")
ok_all = True
for mix in ("uni", "zipf"):
    big = [n for n in sizes if n >= 10000]
    if len(big) < 2:
        continue
    costs = [res[("vipdnsd", mix, n)]["us"] for n in big]
    worst = max(costs) / costs[0]
    ok = worst <= 1.20
    ok_all &= ok
    print("%s  per-hit cost flat from %d to %d names (%s): worst %.2fx of %d (target <= 1.20)"
          % ("PASS" if ok else "FAIL", big[0], big[-1], mix, worst, big[0]))
PY

log "conditions: kernel $(uname -r), CPU '$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)' x $(nproc), load avg $(cut -d' ' -f1-3 /proc/loadavg)"
log "tools: $(kxdpgun -V 2>&1 | head -1); unbound $(unbound -V 2>&1 | awk '/^Version/{print $2}'); vipdnsd $VIPDNSD"
