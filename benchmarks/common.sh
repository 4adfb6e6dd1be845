# shellcheck shell=bash
# What the benchmarks share, so that every comparison runs the peers with
# the same settings.  Sourced by bench_resolver.sh and xdp_bench.sh once
# they have set WORK, VIP, ROOT_HINTS, TRUST_ANCHOR, NS_NODE, RES_CPU and
# defined log() and die().

# The hit set: names of the lab hierarchy, signed and unsigned, several
# types.  kxdpgun sends EDNS without options, which the XDP path answers.
bench_write_hits() {
  cat >"$1" <<'EOF'
www.lab. A
www.lab. AAAA
mail.lab. A
mx.lab. MX
www.sub.lab. A
www.example. A
www.secure.example. A
www.secure.example. AAAA
EOF
}

# vipdnsd: 1 worker, DNSSEC on, no prefetch or serve-stale (a 100% hit
# load must be answered from the cache and nothing else).  Arguments are
# extra configuration lines.
vipdnsd_conf() {
  cat <<EOF
listen = $VIP
threads = 1
so-rcvbuf = 8M
so-sndbuf = 8M
root-hints = $ROOT_HINTS
trust-anchor-file = $TRUST_ANCHOR
acl = 192.0.2.0/24 allow
dnssec = yes
qname-minimisation = yes
aggressive-nsec = yes
use-caps-for-id = yes
cache-size = 64M
prefetch = no
serve-stale = no
log-level = warning
control-socket =
cache-snapshot =
EOF
  local extra
  for extra in "$@"; do echo "$extra"; done
}

# same essentials; the harden-*/minimal-responses/edns values are the ones
# vipdnsd sets on its libunbound context (src/resolve/resolve.c)
unbound_conf() {
  cat <<EOF
server:
  interface: $VIP
  interface-automatic: no
  port: 53
  do-ip6: no
  do-tcp: yes
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  val-log-level: 0
  num-threads: 1
  so-reuseport: no
  so-rcvbuf: 8m
  so-sndbuf: 8m
  root-hints: "$ROOT_HINTS"
  trust-anchor-file: "$TRUST_ANCHOR"
  module-config: "validator iterator"
  access-control: 192.0.2.0/24 allow
  qname-minimisation: yes
  aggressive-nsec: yes
  use-caps-for-id: yes
  harden-glue: yes
  harden-dnssec-stripped: yes
  harden-below-nxdomain: yes
  harden-large-queries: yes
  harden-short-bufsize: yes
  edns-buffer-size: 1232
  minimal-responses: yes
  prefetch: no
  serve-expired: no
  msg-cache-size: 64m
  rrset-cache-size: 64m
remote-control:
  control-enable: no
EOF
}

# bench_start_resolver NAME PROBE_NS CMD...: runs CMD pinned to RES_CPU in
# NS_NODE and waits until it answers on VIP from PROBE_NS; sets RES_PID.
bench_start_resolver() {
  local r=$1 probe_ns=$2; shift 2
  ip netns exec "$NS_NODE" taskset -c "$RES_CPU" "$@" </dev/null >>"$WORK/$r.log" 2>&1 &
  RES_PID=$!   # ip netns exec and taskset exec the daemon: same PID
  local t=0
  until ip netns exec "$probe_ns" dig +time=1 +tries=1 @"$VIP" . SOA 2>/dev/null | grep -q 'status: '; do
    kill -0 "$RES_PID" 2>/dev/null || { tail -n 20 "$WORK/$r.log" >&2; die "$r exited"; }
    ((t++ < 150)) || die "$r does not answer on $VIP"
    sleep 0.1
  done
  [[ $(ip netns identify "$RES_PID") == "$NS_NODE" ]] || die "PID $RES_PID is not $r in $NS_NODE"
}

stop_resolver() {
  [[ -n ${RES_PID:-} ]] || return 0
  local t=0
  if kill -0 "$RES_PID" 2>/dev/null; then
    kill -TERM "$RES_PID" 2>/dev/null || true
    while kill -0 "$RES_PID" 2>/dev/null; do
      ((t++ < 100)) || { kill -KILL "$RES_PID" 2>/dev/null || true; break; }
      sleep 0.05
    done
  fi
  wait "$RES_PID" 2>/dev/null || true
  RES_PID=""
}

# A wildcard *.wild.lab. (A and AAAA, TTL BENCH_WILD_TTL [300]) in the
# (unsigned) lab. zone of THIS bench's lab only, so every "NAME.wild.lab."
# exists and is a distinct cache entry.  Done on the lab's state copy of
# the zone, not in lab.sh.  Needs LAB and the sourced lab.env.
bench_add_wildcard() {
  local ttl=${BENCH_WILD_TTL:-300}
  printf '; added by benchmarks/common.sh\n*.wild %s A 203.0.113.87\n*.wild %s AAAA 2001:db8::87\n' \
    "$ttl" "$ttl" >>"$VDLAB_DIR/zones/lab.zone"
  "$LAB" auth-stop >/dev/null 2>&1
  "$LAB" auth-start >/dev/null 2>&1 || die "restarting NSD with the wildcard failed"
  ip netns exec "$NS_AUTH" dig +short +norecurse @"$AUTH_LAB4" probe.wild.lab. A |
    grep -qx 203.0.113.87 || die "wildcard *.wild.lab. not served"
}

# bench_lab_up: the lab with no resolver (tests/lab/lab.sh, VDLAB), a
# wildcard *.wild.lab. (A and AAAA, TTL BENCH_WILD_TTL [300]) for distinct
# names that all exist, and, with
# BENCH_PATH=direct, the generators' own namespace NS_DIRECT joined to the
# node by one veth pair; sets NS_GEN, GEN_PEER_NS/DEV and sources lab.env.
# Needs LAB, WORK, VIPDNSD, NS_NODE, NS_ROUTER, NS_CLIENT, NS_DIRECT.
bench_lab_up() {
  log "bringing up lab $VDLAB"
  "$LAB" up --no-resolver --vipdnsd "$VIPDNSD" >"$WORK/lab.log" 2>&1 ||
    { cat "$WORK/lab.log" >&2; die "lab up failed"; }
  # shellcheck disable=SC1091
  source "$VDLAB_DIR/lab.env"

  bench_add_wildcard

  # BENCH_PATH=direct: the generators' namespace, one veth pair straight to the
  # node (node end b0 192.0.2.129/30, generator end g0 192.0.2.130/30: inside
  # the ACL's 192.0.2.0/24 and outside every address the lab uses; the node's
  # connected /30 wins over its 192.0.2.0/24 route via the router).
  if [[ $BENCH_PATH == direct ]]; then
    ip netns add "$NS_DIRECT"
    ip -n "$NS_NODE" link add b0 type veth peer name g0 netns "$NS_DIRECT"
    ip -n "$NS_NODE" addr add 192.0.2.129/30 dev b0
    ip -n "$NS_NODE" link set b0 up
    ip -n "$NS_DIRECT" link set lo up
    ip -n "$NS_DIRECT" addr add 192.0.2.130/30 dev g0
    ip -n "$NS_DIRECT" link set g0 up
    ip -n "$NS_DIRECT" route add default via 192.0.2.129
    NS_GEN=$NS_DIRECT GEN_PEER_NS=$NS_NODE GEN_PEER_DEV=b0
  else
    NS_GEN=$NS_CLIENT GEN_PEER_NS=$NS_ROUTER GEN_PEER_DEV=c0
  fi

  # kxdpgun sends with AF_XDP from the generators' veth end (r0 or g0); frames
  # it sends reach the other end (the router's c0 or the node's b0) only if
  # that end has an XDP program (veth redirect): attach a trivial XDP_PASS
  # one, built here from source.
  cat >"$WORK/pass.c" <<'EOF'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
  clang -O2 -g -target bpf -I"/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)" \
    -c "$WORK/pass.c" -o "$WORK/pass.o" || die "building the XDP_PASS program failed"
  ip -n "$GEN_PEER_NS" link set dev "$GEN_PEER_DEV" xdpdrv obj "$WORK/pass.o" sec xdp ||
    die "attaching XDP_PASS to $GEN_PEER_NS/$GEN_PEER_DEV failed"
}

proc_cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }     # ticks, whole process
sys_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }   # ticks, all CPUs
HZ=$(getconf CLK_TCK)

# Load generators of somebody else's benchmark on this machine would skew
# every figure: wait (at most 10 min) until none runs.  None of ours runs
# when this is called.
wait_quiet() {
  local t=0
  while pgrep -x kxdpgun >/dev/null || pgrep -x dnsperf >/dev/null; do
    ((t == 0)) && log "waiting for other kxdpgun/dnsperf processes to finish"
    ((t++ < 600)) || { log "WARNING: other load generators still running"; return 0; }
    sleep 1
  done
}

idle_busy() {   # background load: busy CPUs over 2 s with nothing of ours running
  local s0 s1; wait_quiet; s0=$(sys_busy); sleep 2; s1=$(sys_busy)
  echo "$((s1 - s0))"
}

# kxdpgun_run NAME QPS [FILE]: kxdpgun from NS_GEN for SECS at QPS over
# FILE (default $WORK/hits.txt) against RES_PID; writes $WORK/NAME.kx and
# NAME.cpu (proc_ticks sys_ticks ms).  NAME vipdnsd-perf runs perf too.
kxdpgun_run() {
  local name=$1 qps=$2 file=${3:-$WORK/hits.txt} p0 s0 p1 s1 t0 t1 perfpid=""
  wait_quiet
  p0=$(proc_cpu "$RES_PID"); s0=$(sys_busy); t0=$(date +%s%N)
  if [[ $name == vipdnsd-perf ]]; then
    perf record -g -p "$RES_PID" -o "$WORK/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
    perfpid=$!
  fi
  ip netns exec "$NS_GEN" kxdpgun -t "$SECS" -Q "$qps" -F "$GEN_CPU" \
    -i "$file" "$VIP" >"$WORK/$name.kx" 2>&1 || { cat "$WORK/$name.kx" >&2; die "kxdpgun failed"; }
  p1=$(proc_cpu "$RES_PID"); s1=$(sys_busy); t1=$(date +%s%N)
  [[ -z $perfpid ]] || wait "$perfpid" || true
  echo "$((p1 - p0)) $((s1 - s0)) $(((t1 - t0) / 1000000))" >"$WORK/$name.cpu"
}


# bench_cleanup: the EXIT trap of the scripts that use bench_lab_up: stops
# the resolver, removes the generators' namespace (its veth pair goes
# along) and the lab, and removes WORK unless KEEP (or DO_PERF) is set.
bench_cleanup() {
  local rc=$?
  if declare -F stop_resolver >/dev/null; then stop_resolver || true; fi
  if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$NS_DIRECT"; then
    ip netns del "$NS_DIRECT" 2>/dev/null || true
  fi
  "$LAB" down >/dev/null 2>&1 || true
  if ((${KEEP:-0})) || ((${DO_PERF:-0})); then log "work dir kept: $WORK"; else rm -rf -- "$WORK"; fi
  exit "$rc"
}
