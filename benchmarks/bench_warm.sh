#!/usr/bin/env bash
# Warm restarts: the cache hit ratio in the first minute after a node
# restarts, cold against snapshot-warmed against peer-warmed (issue 14).
#
#   benchmarks/bench_warm.sh [PATH_TO_VIPDNSD]   (default ./build/src/vipdnsd)
#
# A two-node lab (tests/lab/lab.sh, NSD hierarchy, a wildcard so that every
# NAME.wild.lab. exists), the nodes joined by the mutual-TLS cluster
# channel.  The query mix is Zipf (s = BENCH_ZIPF_S) over BENCH_NAMES names,
# A and AAAA, replayed by dnsperf at BENCH_QPS from inside the node (to
# 127.0.0.1).  Each mode gives the node under test a previous life (the
# mix for BENCH_LIFE_SECS), restarts it and replays a fresh draw of the
# same mix for BENCH_SECS, sampling vipdnsctl stats every 10 s:
#   cold      the restart loses the cache (cache-snapshot empty);
#   snapshot  SIGTERM writes the snapshot, the start loads it;
#   peer      node2 starts with no snapshot and cache-warm-entries =
#             BENCH_WARM_N, asking node1, which lived the previous life.
# Printed: the hit ratio per 10 s window and over the whole window, per
# mode, and what the start logged.  Unbound has no warm restart of its own
# to compare with (its dump_cache/load_cache is a manual step), so this
# benchmark compares vipdnsd with itself.
#
# Environment (defaults in brackets): BENCH_NAMES [100000]  BENCH_ZIPF_S
# [1.0]  BENCH_QPS [2000]  BENCH_LIFE_SECS [60]  BENCH_SECS [60]
# BENCH_WARM_N [50000]  BENCH_KEEP [0].  Root, dnsperf, openssl, python3.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=benchmarks/common.sh
source "$HERE/common.sh"
ROOTDIR=$(cd "$HERE/.." && pwd)
LAB=$ROOTDIR/tests/lab/lab.sh

VIPDNSD=${1:-$ROOTDIR/build/src/vipdnsd}
NAMES=${BENCH_NAMES:-100000}
ZIPF_S=${BENCH_ZIPF_S:-1.0}
QPS=${BENCH_QPS:-2000}
LIFE=${BENCH_LIFE_SECS:-60}
SECS=${BENCH_SECS:-60}
WARM_N=${BENCH_WARM_N:-50000}
KEEP=${BENCH_KEEP:-0}
PORT=8953
# every answer outlives the run: what is measured is the restart alone
export BENCH_WILD_TTL=86400

export VDLAB=vdwarm$$
export VDLAB_DIR=/tmp/$VDLAB

log() { printf 'warm: %s\n' "$*" >&2; }
die() { printf 'warm: ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -x $VIPDNSD ]] || die "vipdnsd not found or not executable: $VIPDNSD"
VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD")
CTL=$(dirname "$VIPDNSD")/vipdnsctl
[[ -x $CTL ]] || die "vipdnsctl not found beside vipdnsd"
for c in dnsperf openssl python3 ip dig; do
  command -v "$c" >/dev/null || die "missing command: $c (run deploy/install-deps.sh)"
done

WORK=$(mktemp -d /tmp/vdwarm-work.XXXXXX)
cleanup() {
  "$LAB" down >/dev/null 2>&1 || true
  if [[ $KEEP == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- lab
log "bringing up lab $VDLAB (2 nodes)"
"$LAB" up --nodes 2 --no-resolver --vipdnsd "$VIPDNSD" >"$WORK/lab.log" 2>&1 ||
  { cat "$WORK/lab.log" >&2; die "lab up failed"; }
# shellcheck disable=SC1091
source "$VDLAB_DIR/lab.env"
bench_add_wildcard

C=$WORK/certs; mkdir -p "$C"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$C/ca.key" -subj "/CN=bench-ca" -days 2 -out "$C/ca.pem" 2>/dev/null
for n in node1 node2; do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$C/$n.key" -subj "/CN=$n" -out "$C/$n.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$n" >"$C/$n.ext"
  openssl x509 -req -in "$C/$n.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" \
    -CAcreateserial -days 2 -extfile "$C/$n.ext" -out "$C/$n.pem" 2>/dev/null
done
for i in 1 2; do
  conf=NODE${i}_CONF dn=NODE${i}_DN4
  cp "${!conf}" "$WORK/node$i.base.conf"
  {
    echo "cluster-peer = node1=$NODE1_DN4@$PORT"
    echo "cluster-peer = node2=$NODE2_DN4@$PORT"
    echo "cluster-listen = ${!dn}@$PORT"
    echo "cluster-cert = $C/node$i.pem"
    echo "cluster-key = $C/node$i.key"
    echo "cluster-ca = $C/ca.pem"
    echo "log-level = notice"
  } >>"$WORK/node$i.base.conf"
  sed -i '/^log-level = info$/d; /^cache-snapshot = /d' "$WORK/node$i.base.conf"
done

# node I's config for a mode: the base plus extra lines
node_conf() {
  local i=$1; shift
  local conf=NODE${i}_CONF
  cp "$WORK/node$i.base.conf" "${!conf}"
  local l; for l in "$@"; do echo "$l" >>"${!conf}"; done
}
sock() { echo "$VDLAB_DIR/node$1/control.sock"; }
nsof() { local v=NS_NODE$1; echo "${!v}"; }

# ---------------------------------------------------------------- the mix
log "writing Zipf query files ($NAMES names, s=$ZIPF_S)"
python3 - "$NAMES" "$ZIPF_S" "$QPS" "$LIFE" "$SECS" "$WORK" <<'PY'
import bisect, random, sys
n, s, qps, life, secs, work = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
cdf, acc = [], 0.0
for k in range(1, n + 1):
    acc += 1.0 / k ** s
    cdf.append(acc)
def draw(path, count, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(count):
            k = bisect.bisect_left(cdf, rng.random() * acc)
            f.write("n%d.wild.lab. %s\n" % (k, "A" if rng.random() < 0.5 else "AAAA"))
# a little more than the window needs: dnsperf stops at -l, not at EOF
draw(work + "/life.txt", qps * life + qps, 1)
draw(work + "/measure.txt", qps * secs + qps, 2)
PY

replay() {   # replay NODE FILE SECS [SAMPLES_FILE]
  local i=$1 file=$2 secs=$3 samples=${4:-}
  ip netns exec "$(nsof "$i")" dnsperf -s 127.0.0.1 -d "$file" -Q "$QPS" \
    -l "$secs" -t 2 -q 500 >"$WORK/dnsperf.$i.$(basename "$file").out" 2>&1 &
  local dp=$! t
  if [[ -n $samples ]]; then
    : >"$samples"
    for ((t = 10; t <= secs; t += 10)); do
      sleep 10
      ip netns exec "$(nsof "$i")" "$CTL" -s "$(sock "$i")" stats |
        awk -v t="$t" -F= '$1=="cache_hits"{h=$2} $1=="cache_misses"{m=$2} END{print t, h, m}' >>"$samples"
    done
  fi
  wait "$dp" || true
}

stop_node() { "$LAB" resolver-stop "$1" >/dev/null 2>&1 || true; }
start_node() {
  "$LAB" resolver-start "$1" >>"$WORK/start.$1.log" 2>&1 ||
    { tail -n 20 "$WORK/start.$1.log" >&2; die "node$1 did not start"; }
}

# Whole-window and per-10 s hit ratios from the samples (counters since
# the start, so the first sample already counts from 0).
report() {
  local mode=$1 samples=$2
  awk -v mode="$mode" '
    { t[NR]=$1; h[NR]=$2; m[NR]=$3 }
    END {
      line = sprintf("%-9s", mode); ph = 0; pm = 0
      for (i = 1; i <= NR; i++) {
        dh = h[i] - ph; dm = m[i] - pm; ph = h[i]; pm = m[i]
        line = line sprintf(" %6.1f%%", (dh + dm) ? 100 * dh / (dh + dm) : 0)
      }
      tot = h[NR] + m[NR]
      line = line sprintf("   | %6.1f%%  (%d hits, %d misses)", tot ? 100 * h[NR] / tot : 0, h[NR], m[NR])
      print line
    }' "$samples"
}

run_mode() {
  local mode=$1 logline
  case $mode in
    cold|snapshot)
      local snap="cache-snapshot ="
      [[ $mode == snapshot ]] && snap="cache-snapshot = $VDLAB_DIR/node2/cache.snapshot"
      stop_node 2
      rm -f "$VDLAB_DIR/node2/cache.snapshot"
      node_conf 2 "$snap"
      start_node 2
      log "$mode: previous life ($LIFE s at $QPS qps)"
      replay 2 "$WORK/life.txt" "$LIFE"
      stop_node 2
      start_node 2 ;;
    peer)
      stop_node 1
      node_conf 1 "cache-snapshot ="
      start_node 1
      log "peer: node1's life ($LIFE s at $QPS qps)"
      replay 1 "$WORK/life.txt" "$LIFE"
      stop_node 2
      rm -f "$VDLAB_DIR/node2/cache.snapshot"
      node_conf 2 "cache-snapshot =" "cache-warm-entries = $WARM_N"
      start_node 2 ;;
  esac
  # the last start's line only: the log spans every mode
  logline=$(awk '/cache (snapshot|warm)/ && /loaded|warmed|none/ {l=$0} END{sub(/^[^ ]* /, "", l); print l}' \
    "$VDLAB_DIR/node2/resolver.log")
  [[ $mode == cold ]] && logline="cache-snapshot off: nothing loaded"
  log "$mode: restarted; ${logline:-nothing loaded}"
  echo "$mode ${logline:-nothing loaded}" >>"$WORK/loaded.txt"
  replay 2 "$WORK/measure.txt" "$SECS" "$WORK/samples.$mode"
}

node_conf 1 "cache-snapshot ="
node_conf 2 "cache-snapshot ="
start_node 1
start_node 2
for mode in cold snapshot peer; do run_mode "$mode"; done

printf '\nhit ratio after a restart (Zipf s=%s over %d names x {A,AAAA}, %d qps, previous life %d s)\n' \
  "$ZIPF_S" "$NAMES" "$QPS" "$LIFE"
hdr="mode     "; for ((t = 10; t <= SECS; t += 10)); do hdr+=$(printf ' %6ss' "$t"); done
printf '%s   | first %d s\n' "$hdr" "$SECS"
for mode in cold snapshot peer; do report "$mode" "$WORK/samples.$mode"; done
printf '\nwhat each start loaded:\n'; sed 's/^/  /' "$WORK/loaded.txt"
