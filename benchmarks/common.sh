# shellcheck shell=bash
# What the benchmarks share, so that every comparison runs the peers with
# the same settings.  Sourced by bench_resolver.sh and xdp_bench.sh once
# they have set WORK, VIP, ROOT_HINTS, TRUST_ANCHOR, NS_NODE, RES_CPU and
# defined die().

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
