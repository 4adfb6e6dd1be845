#!/usr/bin/env bash
# vipdns namespace lab: a local DNS hierarchy (NSD), N resolver nodes holding
# the anycast VIPs, a router and a client, joined by veth pairs.
#
#   lab.sh up [--nodes N] [--resolver vipdnsd|unbound] [--vipdnsd PATH]
#             [--extra-conf FILE] [--no-resolver] [--anycast]
#             [--cloud aws|gcp]
#   --anycast: BGP topology (vipdnsd only, default 3 nodes): BIRD on the
#   router (ECMP, merge paths, L4 hashing) and on every node, the VIPs put
#   on lo and announced by vipdnsd (docs/anycast.md); otherwise the VIPs
#   are static on each node's lo and the router has static ECMP routes.
#   --cloud: the nodes are VMs behind a cloud gateway namespace that routes
#   only their underlay addresses (IPv4) and drops everything else; BGP and
#   the VIPs' traffic run inside a GRE tunnel from the router to each node
#   (user-space GRE: socat over TUN), configured from the node's own
#   `tunnel =` line (docs/tunnels.md).  aws: an IPv4 and an IPv6 BGP
#   session per tunnel (Transit Gateway Connect); gcp: one IPv4-only
#   session carrying the IPv6 VIP too (Cloud Router).  Implies --anycast,
#   default 2 nodes.
#   lab.sh down | status | env
#   lab.sh exec NODE_OR_CLIENT cmd...      (client, router, auth, node1.. or a full name)
#   lab.sh auth-stop | auth-start          (stop/start every NSD instance)
#   lab.sh auth-zone NAME FILE [--sign]    (NSD NAME serves FILE from now on,
#                                          signed with the zone's keys: --sign)
#   lab.sh resolver-stop [I] | resolver-start [I]   (node I, default all)
#   lab.sh bird-stop [I] | bird-start [I]  (BIRD on node I; --anycast labs)
#   lab.sh birdc NODE_OR_ROUTER cmd...     (birdc on that BIRD)
#   lab.sh tunnel-stop [I] | tunnel-start [I]  (node I's end of its tunnel;
#                                          --cloud labs)
#
# Environment: VDLAB (namespace prefix, default "vdlab"),
#              VDLAB_DIR (state dir, default /tmp/$VDLAB).
# Topology and addresses: see tests/README.md ("The lab").
#
# Only documentation ranges are used and every process the lab starts lives
# in a namespace the lab created; processes are stopped by their recorded PID.
set -euo pipefail

VDLAB=${VDLAB:-vdlab}
STATE=${VDLAB_DIR:-/tmp/$VDLAB}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOTDIR=$(cd "$HERE/../.." && pwd)

NS_CLIENT=$VDLAB-client
NS_ROUTER=$VDLAB-router
NS_AUTH=$VDLAB-auth
VIP4=203.0.113.1
VIP6=2001:db8::1
CLIENT4=192.0.2.10
CLIENT6=2001:db8:c::10
# extra client source addresses, inside the allowed prefixes on purpose: tests
# add more specific ACL rules for them (refuse / drop)
CLIENT4_X1=192.0.2.200
CLIENT4_X2=192.0.2.201
CLIENT6_X1=2001:db8:c::200
CLIENT6_X2=2001:db8:c::201
ROUTER_C4=192.0.2.1
ROUTER_C6=2001:db8:c::1
ROUTER_AS=64500
NODE_AS=65001
MAX_NODES=32
MAX_CLOUD_NODES=8
NS_GW=$VDLAB-gw
# cloud: router <-> gateway underlay link
ROUTER_U4=203.0.113.253
GW_U4=203.0.113.254

# authoritative servers: name  ipv4  ipv6  zone  zonefile-basename
AUTH_SERVERS=(
  "root    198.51.100.1 2001:db8:53::1 .               root"
  "example 198.51.100.2 2001:db8:53::2 example.        example"
  "lab     198.51.100.3 2001:db8:53::3 lab.            lab"
  "secure  198.51.100.4 2001:db8:53::4 secure.example. secure.example"
  "bogus   198.51.100.5 2001:db8:53::5 bogus.example.  bogus.example"
  "sublab  198.51.100.6 2001:db8:53::6 sub.lab.        sub.lab"
  "test    198.51.100.7 2001:db8:53::7 test.           test"
  "corp    198.51.100.8 2001:db8:53::8 corp.internal.  corp.internal"
  "vpc     198.51.100.9 2001:db8:53::9 vpc.internal.   vpc.internal"
)
# test. is delegated from the lab root (libunbound's default local zone
# for it must be removed to reach it: local-zone nodefault); corp.internal.
# and vpc.internal. are not delegated at all: a node reaches them only
# through stub-zone (authoritative) and forward-zone.
DEAD4=198.51.100.99
DEAD6=2001:db8:53::99

log() { printf 'lab[%s]: %s\n' "$VDLAB" "$*" >&2; }
die() { printf 'lab[%s]: ERROR: %s\n' "$VDLAB" "$*" >&2; exit 1; }

# per-node addressing (i = 1..N), /30 (v4) and /64 (v6) per link
node_ns()      { echo "$VDLAB-node$1"; }
node_auth4()   { echo "198.51.100.$((129 + 4 * ($1 - 1)))"; }   # auth side of node<->auth
node_up4()     { echo "198.51.100.$((130 + 4 * ($1 - 1)))"; }   # node side of node<->auth
node_auth6()   { echo "2001:db8:5e:$1::1"; }
node_up6()     { echo "2001:db8:5e:$1::2"; }
node_rtr4()    { echo "203.0.113.$((129 + 4 * ($1 - 1)))"; }    # router side of router<->node
node_dn4()     { echo "203.0.113.$((130 + 4 * ($1 - 1)))"; }    # node side of router<->node
node_rtr6()    { echo "2001:db8:e0:$1::1"; }
node_dn6()     { echo "2001:db8:e0:$1::2"; }
# cloud: tunnel inner addresses (router .1 / node .2 of a /30 and a /64)
node_tr4()     { echo "203.0.113.$((65 + 4 * ($1 - 1)))"; }     # router end
node_in4()     { echo "203.0.113.$((66 + 4 * ($1 - 1)))"; }     # node end
node_tr6()     { echo "2001:db8:7e:$1::1"; }
node_in6()     { echo "2001:db8:7e:$1::2"; }
TUNNEL_IF=tun0

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }

load_env() {
  [[ -f $STATE/lab.env ]] || die "lab '$VDLAB' is not up (no $STATE/lab.env)"
  # shellcheck disable=SC1091
  source "$STATE/lab.env"
}

# ---------------------------------------------------------------- processes
# Start "$@" in namespace $ns in the background.  The daemon's PID goes to
# $STATE/pids/$name.pid; a small wrapper waits for it and writes its exit
# status to $STATE/pids/$name.rc (so tests can check e.g. "SIGTERM -> 0").
start_proc() {
  local name=$1 ns=$2 logf=$3; shift 3
  local pidf=$STATE/pids/$name.pid rcf=$STATE/pids/$name.rc
  rm -f "$pidf" "$rcf"
  (
    ip netns exec "$ns" "$@" </dev/null >>"$logf" 2>&1 &
    echo $! >"$pidf.tmp"; mv "$pidf.tmp" "$pidf"
    rc=0; wait $! || rc=$?
    echo "$rc" >"$rcf"
  ) </dev/null >/dev/null 2>&1 &
  echo $! >"$STATE/pids/$name.wrapper"
  local t=0
  while [[ ! -s $pidf ]]; do
    ((t++ < 100)) || die "could not start $name"
    sleep 0.05
  done
}

# alive PID: the process exists and is not a zombie.  kill -0 is not
# enough: a wrapper whose parent (an earlier lab.sh) has exited becomes a
# zombie that PID 1 reaps only eventually, and waiting on it cost 2 s per
# process at every teardown.
alive() {
  local st
  { read -r st </proc/"$1"/stat; } 2>/dev/null || return 1
  st=${st##*) }
  st=${st%% *}
  [[ -n $st && $st != Z && $st != X ]]
}

# PID from a pidfile, only if that process is alive and inside namespace $2
proc_pid() {
  local pidf=$1 ns=$2 pid
  [[ -s $pidf ]] || return 1
  pid=$(<"$pidf")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  [[ $(ip netns identify "$pid" 2>/dev/null) == "$ns" ]] || return 1
  echo "$pid"
}

stop_proc() {
  local name=$1 ns=$2 pid t=0
  local pidf=$STATE/pids/$name.pid
  if pid=$(proc_pid "$pidf" "$ns"); then
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid"; do
      if ((t++ == 100)); then
        log "$name (pid $pid) ignored SIGTERM for 5 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      ((t < 200)) || break
      sleep 0.05
    done
  fi
  # let the wrapper record the exit status
  local w
  if [[ -s $STATE/pids/$name.wrapper ]]; then
    w=$(<"$STATE/pids/$name.wrapper")
    t=0
    while alive "$w" && ((t++ < 40)); do sleep 0.05; done
  fi
  rm -f "$pidf" "$STATE/pids/$name.wrapper"
}

# any DNS answer (whatever the rcode) from server $2 in namespace $1
dns_answers() {
  local ns=$1 srv=$2 q=${3:-.} t=${4:-SOA}
  nsx "$ns" dig +time=1 +tries=1 +norecurse @"$srv" "$q" "$t" 2>/dev/null | grep -q 'status: '
}

wait_until() {   # wait_until SECONDS DESCRIPTION cmd...
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || { log "timeout after ${secs}s waiting for: $what"; return 1; }
    sleep 0.1
  done
}

# ---------------------------------------------------------------- zones
gen_zones() {
  local z=$STATE/zones k=$STATE/keys
  mkdir -p "$z" "$k"
  local inc exp
  inc=$(date -u -d '-1 day' +%Y%m%d%H%M%S)
  exp=$(date -u -d '+30 days' +%Y%m%d%H%M%S)

  # --- lab. (unsigned) -------------------------------------------------
  local bigtxt="" i
  for i in $(seq -w 1 10); do
    bigtxt+=" \"big-$i-$(printf 'x%.0s' $(seq 1 190))\""
  done
  cat >"$z/lab.zone" <<EOF
\$ORIGIN lab.
\$TTL 300
@        SOA   ns.lab. hostmaster.lab. 1 3600 600 86400 60
@        NS    ns.lab.
ns       A     198.51.100.3
ns       AAAA  2001:db8:53::3
a.root   A     198.51.100.1
a.root   AAAA  2001:db8:53::1
www      A     203.0.113.80
www      AAAA  2001:db8:80::80
alias    CNAME alias2.lab.
alias2   CNAME www.lab.
big      TXT  $bigtxt
short 3  A     203.0.113.83
pf 20    A     203.0.113.86
mx       MX    10 mail.lab.
mail     A     203.0.113.84
v4only   A     203.0.113.85
; a public name pointing into private space (DNS rebinding)
rebind   A     10.9.8.7
sub      NS    ns.sub.lab.
ns.sub   A     198.51.100.6
ns.sub   AAAA  2001:db8:53::6
EOF

  cat >"$z/sub.lab.zone" <<EOF
\$ORIGIN sub.lab.
\$TTL 300
@        SOA   ns.sub.lab. hostmaster.lab. 1 3600 600 86400 60
@        NS    ns.sub.lab.
ns       A     198.51.100.6
ns       AAAA  2001:db8:53::6
www      A     203.0.113.86
EOF

  # --- test., corp.internal., vpc.internal. (unsigned) -----------------
  cat >"$z/test.zone" <<EOF
\$ORIGIN test.
\$TTL 300
@        SOA   ns.test. hostmaster.lab. 1 3600 600 86400 60
@        NS    ns.test.
ns       A     198.51.100.7
ns       AAAA  2001:db8:53::7
www      A     203.0.113.87
EOF
  cat >"$z/corp.internal.zone" <<EOF
\$ORIGIN corp.internal.
\$TTL 300
@        SOA   ns.corp.internal. hostmaster.lab. 1 3600 600 86400 60
@        NS    ns.corp.internal.
ns       A     198.51.100.8
www      A     203.0.113.88
intranet A     10.20.30.40
EOF
  cat >"$z/vpc.internal.zone" <<EOF
\$ORIGIN vpc.internal.
\$TTL 300
@        SOA   ns.vpc.internal. hostmaster.lab. 1 3600 600 86400 60
@        NS    ns.vpc.internal.
ns       A     198.51.100.9
db       A     203.0.113.89
v4only   A     203.0.113.85
EOF

  # --- signed leaves ----------------------------------------------------
  cat >"$z/secure.example.zone" <<EOF
\$ORIGIN secure.example.
\$TTL 300
@        SOA   ns.secure.example. hostmaster.example. 1 3600 600 86400 60
@        NS    ns.secure.example.
ns       A     198.51.100.4
ns       AAAA  2001:db8:53::4
www      A     203.0.113.81
www      AAAA  2001:db8:80::81
EOF
  cat >"$z/bogus.example.zone" <<EOF
\$ORIGIN bogus.example.
\$TTL 300
@        SOA   ns.bogus.example. hostmaster.example. 1 3600 600 86400 60
@        NS    ns.bogus.example.
ns       A     198.51.100.5
ns       AAAA  2001:db8:53::5
www      A     203.0.113.82
EOF

  sign_zone secure.example. "$z/secure.example.zone"
  sign_zone bogus.example. "$z/bogus.example.zone"
  corrupt_rrsig "$z/bogus.example.zone.signed" www.bogus.example. A

  # --- example. (signed) -------------------------------------------------
  cat >"$z/example.zone" <<EOF
\$ORIGIN example.
\$TTL 300
@        SOA   ns.example. hostmaster.example. 1 3600 600 86400 60
@        NS    ns.example.
ns       A     198.51.100.2
ns       AAAA  2001:db8:53::2
www      A     203.0.113.90
secure   NS    ns.secure.example.
ns.secure A    198.51.100.4
ns.secure AAAA 2001:db8:53::4
bogus    NS    ns.bogus.example.
ns.bogus A     198.51.100.5
ns.bogus AAAA  2001:db8:53::5
; dead.example.: insecure delegation to servers whose packets are blackholed
dead     NS    ns1.dead.example.
ns1.dead A     $DEAD4
ns1.dead AAAA  $DEAD6
EOF
  cat "$k"/secure.example.ds "$k"/bogus.example.ds >>"$z/example.zone"
  sign_zone example. "$z/example.zone"

  # --- root (signed) -----------------------------------------------------
  cat >"$z/root.zone" <<EOF
\$ORIGIN .
\$TTL 86400
.            SOA   a.root.lab. hostmaster.lab. 1 1800 900 604800 86400
.            NS    a.root.lab.
example.     NS    ns.example.
ns.example.  A     198.51.100.2
ns.example.  AAAA  2001:db8:53::2
lab.         NS    ns.lab.
ns.lab.      A     198.51.100.3
ns.lab.      AAAA  2001:db8:53::3
test.        NS    ns.test.
ns.test.     A     198.51.100.7
ns.test.     AAAA  2001:db8:53::7
a.root.lab.  A     198.51.100.1
a.root.lab.  AAAA  2001:db8:53::1
EOF
  cat "$k"/example.ds >>"$z/root.zone"
  sign_zone . "$z/root.zone"

  # trust anchor (DS of the root KSK) and root hints for the resolvers
  cp "$k/root.ds" "$STATE/root.anchor"
  cat >"$STATE/root.hints" <<EOF
.            3600000  NS    a.root.lab.
a.root.lab.  3600000  A     198.51.100.1
a.root.lab.  3600000  AAAA  2001:db8:53::1
EOF
}

# sign_zone ORIGIN FILE: KSK + ZSK (ECDSAP256SHA256), writes FILE.signed and
# $STATE/keys/<name>.ds (DS of the KSK, for the parent / the trust anchor)
sign_zone() {
  local origin=$1 file=$2 k=$STATE/keys name ksk zsk
  name=${origin%.}; [[ -n $name ]] || name=root
  ( cd "$k"
    ksk=$(ldns-keygen -a ECDSAP256SHA256 -k "$origin")
    zsk=$(ldns-keygen -a ECDSAP256SHA256 "$origin")
    ldns-key2ds -n -2 "$ksk.key" >"$name.ds"
    rm -f "$ksk.ds" "$zsk.ds"
    ldns-signzone -i "$inc" -e "$exp" -o "$origin" -f "$file.signed" "$file" "$ksk" "$zsk"
  ) || die "signing $origin failed"
  [[ -s $k/$name.ds && -s $file.signed ]] || die "signing $origin produced nothing"
}

# flip bits in the signature of OWNER's RRSIG covering TYPE (keeps it valid
# base64 of the same length, so NSD serves it and validators reject it)
corrupt_rrsig() {
  python3 - "$@" <<'PY' || die "corrupting RRSIG failed"
import sys, re
path, owner, rtype = sys.argv[1:4]
lines = open(path).read().split("\n")
done = 0
for n, l in enumerate(lines):
    f = l.split()
    if len(f) > 5 and f[0].lower() == owner.lower() and f[3] == "RRSIG" and f[4] == rtype:
        sig = f[-1]
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        s = list(sig)
        for i in (4, 5, 6, 7, 20, 21):
            s[i] = alphabet[(alphabet.index(s[i]) + 17) % 64]
        f[-1] = "".join(s)
        lines[n] = "\t".join(f)
        done += 1
if done != 1:
    sys.exit("expected exactly one RRSIG %s for %s, found %d" % (rtype, owner, done))
open(path, "w").write("\n".join(lines))
PY
}

# ---------------------------------------------------------------- auth
nsd_conf() {
  local name=$1 a4=$2 a6=$3 zone=$4 base=$5 d=$STATE/auth/$1 zf
  zf=$STATE/zones/$base.zone
  [[ -f $zf.signed ]] && zf=$zf.signed
  mkdir -p "$d"
  cat >"$d/nsd.conf" <<EOF
server:
  ip-address: $a4
  ip-address: $a6
  port: 53
  server-count: 1
  username: ""
  chroot: ""
  database: ""
  zonesdir: "$d"
  zonelistfile: "$d/zone.list"
  xfrdfile: "$d/xfrd.state"
  pidfile: "$d/nsd-own.pid"
  logfile: "$d/nsd.log"
  verbosity: 1
  hide-version: yes
  identity: "$name"
  reuseport: no
  refuse-any: no
  # Debian builds NSD with response rate limiting at 200 answers/s per
  # bucket, and every name under one wildcard shares a bucket: the lab's
  # resolvers (benchmarks warm 100k+ wildcard names) would measure NSD.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: "$zone"
  zonefile: "$zf"
EOF
}

auth_start() {
  local line name a4 a6 zone base
  for line in "${AUTH_SERVERS[@]}"; do
    read -r name a4 a6 zone base <<<"$line"
    [[ -f $STATE/auth/$name/nsd.conf ]] || nsd_conf "$name" "$a4" "$a6" "$zone" "$base"
    if proc_pid "$STATE/pids/nsd-$name.pid" "$NS_AUTH" >/dev/null; then continue; fi
    start_proc "nsd-$name" "$NS_AUTH" "$STATE/auth/$name/nsd.stderr" \
      nsd -d -c "$STATE/auth/$name/nsd.conf"
  done
  for line in "${AUTH_SERVERS[@]}"; do
    read -r name a4 a6 zone base <<<"$line"
    wait_until 10 "NSD $name ($a4) serving $zone" nsx "$NS_AUTH" \
      sh -c "dig +time=1 +tries=1 +norecurse @$a4 '$zone' SOA | grep -q 'status: NOERROR'" ||
      die "NSD '$name' did not come up; see $STATE/auth/$name/nsd.log and nsd.stderr"
    wait_until 5 "NSD $name ($a6)" dns_answers "$NS_AUTH" "$a6" "$zone" ||
      die "NSD '$name' does not answer on $a6"
  done
}

auth_stop() {
  local line name
  for line in "${AUTH_SERVERS[@]}"; do
    read -r name _ <<<"$line"
    stop_proc "nsd-$name" "$NS_AUTH"
  done
}

# auth_zone NAME FILE [--sign]: auth server NAME serves FILE from now on.
# --sign signs FILE first with the zone's own keys (made at `up`), so the
# parent's DS and the trust anchor still match; without it FILE is served
# as it is (a test may hand in a signed zone it altered on purpose).  NSD
# is restarted by PID and waited for, so the next query sees the new zone.
auth_zone() {
  local want=$1 file=$2 sign=${3:-} line name a4 a6 zone base found=0
  for line in "${AUTH_SERVERS[@]}"; do
    read -r name a4 a6 zone base <<<"$line"
    [[ $name == "$want" ]] && { found=1; break; }
  done
  ((found)) || die "auth-zone: no auth server '$want'"
  [[ -r $file ]] || die "auth-zone: cannot read $file"
  [[ -z $sign || $sign == --sign ]] || die "auth-zone: unknown option '$sign'"
  local zf=$STATE/zones/$base.zone
  [[ -f $zf.signed ]] && zf=$zf.signed
  if [[ -n $sign ]]; then
    [[ $zf == *.signed ]] || die "auth-zone: $zone is not a signed lab zone"
    local keys=() k inc exp
    for k in "$STATE/keys/K$zone+"*.private; do
      [[ -e $k ]] && keys+=("${k%.private}")
    done
    ((${#keys[@]} == 2)) || die "auth-zone: expected a KSK and a ZSK for $zone in $STATE/keys"
    inc=$(date -u -d '-1 day' +%Y%m%d%H%M%S)
    exp=$(date -u -d '+30 days' +%Y%m%d%H%M%S)
    ldns-signzone -i "$inc" -e "$exp" -o "$zone" -f "$zf.new" "$file" "${keys[@]}" ||
      die "auth-zone: signing $file as $zone failed"
  else
    cp -- "$file" "$zf.new" || die "auth-zone: cannot copy $file"
  fi
  mv -- "$zf.new" "$zf"
  stop_proc "nsd-$want" "$NS_AUTH"
  auth_start
}

# ---------------------------------------------------------------- resolvers
vipdnsd_conf() {
  local i=$1 d=$STATE/node$1
  cat >"$d/vipdns.conf" <<EOF
# generated by tests/lab/lab.sh for node$i
listen = $VIP4
listen = $VIP6
listen = 127.0.0.1
listen = ::1
threads = 1
root-hints = $STATE/root.hints
trust-anchor-file = $STATE/root.anchor
acl = 192.0.2.0/24 allow
acl = 2001:db8:c::/64 allow
acl = 127.0.0.0/8 allow
acl = ::1/128 allow
node-id = node$i
log-level = info
cache-size = 64M
# every node (and every test's lab) needs its own control socket
control-socket = $d/control.sock
# and its own warm-restart snapshot
cache-snapshot = $d/cache.snapshot
# and its own negative trust anchors and cookie secrets
nta-file = $d/nta
cookie-secret-file = $d/cookie-secrets
EOF
  ((ANYCAST)) || return 0
  cat >>"$d/vipdns.conf" <<EOF
# anycast: vipdnsd owns the VIPs on lo and tells BIRD what to announce
anycast = yes
vip = $VIP4
vip = $VIP6
vip-interface = lo
bgp-router-id = $(node_dn4 "$i")
bgp-local-as = $NODE_AS
$(node_neighbors "$i")
bird-socket = $d/bird.ctl
bird-config = $d/bird.conf
bird-announce-file = $d/bird-announce.conf
health-interval = 500
health-timeout = 1000
health-rise = 2
health-fall = 2
health-canary = *.lab. A
drain-quiet = 1000
drain-gshut-time = 1000
drain-timeout = 20
EOF
}

# The node's BGP neighbours (and, in a cloud lab, its tunnel) as vipdns.conf
# lines.
node_neighbors() {
  local i=$1
  case $CLOUD in
    "") echo "bgp-neighbor = $(node_rtr4 "$i") as $ROUTER_AS bfd hold 6 keepalive 2 next-hop6 $(node_dn6 "$i")" ;;
    *)
      echo "# the VM's tunnel to the on-premises router (user-space GRE here)"
      echo "tunnel = $TUNNEL_IF gre local $(node_dn4 "$i") remote $ROUTER_U4 inner $(node_in4 "$i")/30 inner6 $(node_in6 "$i")/64"
      echo "acl = 2001:db8:c::/48 allow"
      if [[ $CLOUD == gcp ]]; then
        echo "# Cloud Router: IPv4 BGP only; the IPv6 VIP rides it (next hop: inner6)"
        echo "bgp-neighbor = $(node_tr4 "$i") as $ROUTER_AS tunnel $TUNNEL_IF bfd hold 6 keepalive 2 dual"
      else
        echo "bgp-neighbor = $(node_tr4 "$i") as $ROUTER_AS tunnel $TUNNEL_IF bfd hold 6 keepalive 2 v4"
        echo "bgp-neighbor = $(node_tr6 "$i") as $ROUTER_AS tunnel $TUNNEL_IF bfd hold 6 keepalive 2"
      fi ;;
  esac
}

# ---------------------------------------------------------------- tunnels
# User-space GRE (GREv0, no key): socat moves packets between a TUN device
# and a raw IP protocol 47 socket connected to the far end, whose TUN
# packet-info header is the GRE header.  The node's side is configured from
# what vipdnsd --tunnel-config renders for the kernel (tun0.ip without its
# "link add"), so the lab runs the node's own addresses and MTU.
tunnel_start_node() {
  local i=$1 ns d=$STATE/node$1
  ns=$(node_ns "$i")
  proc_pid "$STATE/pids/tunnel-node$i.pid" "$ns" >/dev/null && return 0
  mkdir -p "$d/tunnel"
  "$VIPDNSD" -c "$d/vipdns.conf" --tunnel-config "$d/tunnel" >/dev/null || die "vipdnsd --tunnel-config failed for node$i"
  start_proc "tunnel-node$i" "$ns" "$d/tunnel.log" \
    socat -b 65536 "TUN,tun-type=tun,tun-name=$TUNNEL_IF,iff-up" "IP4:$ROUTER_U4:47,bind=$(node_dn4 "$i")"
  local t=0
  until ip -n "$ns" link show "$TUNNEL_IF" >/dev/null 2>&1; do
    ((t++ < 100)) || die "node$i: $TUNNEL_IF did not appear: $(tail -n 5 "$d/tunnel.log" 2>/dev/null)"
    sleep 0.05
  done
  grep -v -e '^#' -e '^link add' "$d/tunnel/$TUNNEL_IF.ip" | ip -n "$ns" -batch - || die "node$i: cannot configure $TUNNEL_IF"
  # the customers' prefixes are reached back through the tunnel
  ip -n "$ns" route replace 192.0.2.0/24 via "$(node_tr4 "$i")" dev "$TUNNEL_IF"
  ip -n "$ns" -6 route replace 2001:db8:c::/48 via "$(node_tr6 "$i")" dev "$TUNNEL_IF"
}

tunnel_stop_node() { stop_proc "tunnel-node$1" "$(node_ns "$1")"; }

tunnel_start_router() {
  local i=$1 dev=tn$1
  mkdir -p "$STATE/router"
  proc_pid "$STATE/pids/tunnel-router$i.pid" "$NS_ROUTER" >/dev/null && return 0
  start_proc "tunnel-router$i" "$NS_ROUTER" "$STATE/router/tunnel$i.log" \
    socat -b 65536 "TUN,tun-type=tun,tun-name=$dev,iff-up" "IP4:$(node_dn4 "$i"):47,bind=$ROUTER_U4"
  local t=0
  until ip -n "$NS_ROUTER" link show "$dev" >/dev/null 2>&1; do
    ((t++ < 100)) || die "router: $dev did not appear: $(tail -n 5 "$STATE/router/tunnel$i.log" 2>/dev/null)"
    sleep 0.05
  done
  ip -n "$NS_ROUTER" link set "$dev" mtu 1476 up
  addr "$NS_ROUTER" "$dev" "$(node_tr4 "$i")/30"
  addr "$NS_ROUTER" "$dev" "$(node_tr6 "$i")/64" nodad
}

# The cloud's gateway: forwards between the underlay addresses it assigned
# and drops anything else (a VIP announced from a VM is not routed here).
gw_filter() {
  nsx "$NS_GW" nft -f - <<NFT
table inet cloudgw {
  counter not_underlay { }
  chain output {
    type filter hook output priority 0; policy accept;
    # a cloud fabric does not tell the sender about a VM that is gone
    icmp type destination-unreachable drop
  }
  set underlay4 { type ipv4_addr; flags interval; elements = { 203.0.113.128/26, 203.0.113.252/30 } }
  # anything not addressed to an underlay address it assigned is dropped
  # on arrival, whatever the sender's routing table says
  chain prerouting {
    type filter hook prerouting priority 0; policy accept;
    ip daddr != @underlay4 counter name not_underlay drop
    meta nfproto ipv6 counter name not_underlay drop
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ip saddr @underlay4 ip daddr @underlay4 accept
  }
}
NFT
}

# A kernel GRE endpoint takes protocol 47 whether or not the tunnel is up;
# here, without a socat listening, the kernel would answer "protocol
# unreachable", and the far end's socat dies of that error on its next send.
# Dropping those ICMPs keeps each end's process independent of the other.
gre_quiet() {
  nsx "$1" nft -f - <<NFT
table inet labgre {
  chain output {
    type filter hook output priority 0; policy accept;
    icmp type destination-unreachable icmp code prot-unreachable drop
  }
}
NFT
}

# ---------------------------------------------------------------- BIRD
router_bird_conf() {
  local f=$STATE/router/bird.conf i
  mkdir -p "$STATE/router"
  {
    cat <<EOF
# generated by tests/lab/lab.sh: the operator's router
log stderr all;
router id $ROUTER_C4;
protocol device { scan time 10; }
# every equal BGP path into the kernel as one multipath route
protocol kernel k4 { merge paths on; ipv4 { import none; export all; }; }
protocol kernel k6 { merge paths on; ipv6 { import none; export all; }; }
protocol bfd { interface "n*", "tn*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
# RFC 8326: a path tagged GRACEFUL_SHUTDOWN loses the preference, so it
# leaves the ECMP set before it is withdrawn.  Everything else is taken as
# sent: the nodes' own filters are what the lab tests.
filter from_node {
  if (65535, 0) ~ bgp_community then bgp_local_pref = 0;
  accept;
}
template bgp node {
  local as $ROUTER_AS;
  direct;
  bfd on;
  hold time 6;
  keepalive time 2;
  connect retry time 2;
  error wait time 1, 10;
  ipv4 { import filter from_node; export none; };
  ipv6 { import filter from_node; export none; };
}
EOF
    for ((i = 1; i <= NODES; i++)); do
      case $CLOUD in
        "") echo "protocol bgp node$i from node { neighbor $(node_dn4 "$i") as $NODE_AS; }" ;;
        *)
          echo "protocol bgp node$i from node { neighbor $(node_in4 "$i") as $NODE_AS; interface \"tn$i\"; }"
          [[ $CLOUD == gcp ]] ||
            echo "protocol bgp node${i}v6 from node { neighbor $(node_in6 "$i") as $NODE_AS; interface \"tn$i\"; }" ;;
      esac
    done
  } >"$f"
  bird -p -c "$f" || die "router bird.conf does not parse: $f"
}

bird_start_router() {
  proc_pid "$STATE/pids/bird-router.pid" "$NS_ROUTER" >/dev/null && return 0
  start_proc bird-router "$NS_ROUTER" "$STATE/router/bird.log" \
    bird -f -c "$STATE/router/bird.conf" -s "$STATE/router/bird.ctl"
}

bird_start_one() {
  local i=$1 ns d=$STATE/node$1
  ns=$(node_ns "$i")
  proc_pid "$STATE/pids/bird-node$i.pid" "$ns" >/dev/null && return 0
  # vipdnsd writes bird.conf and the announce include at start; render
  # them here too so BIRD can start on its own (bird-start before vipdnsd)
  if [[ ! -s $d/bird.conf ]]; then
    "$VIPDNSD" -c "$d/vipdns.conf" --bird-config >"$d/bird.conf" || die "vipdnsd --bird-config failed"
  fi
  if [[ ! -s $d/bird-announce.conf ]]; then
    printf 'function vd_announced()\n{\n\treturn false;\n}\nfunction vd_draining()\n{\n\treturn false;\n}\n' >"$d/bird-announce.conf"
  fi
  start_proc "bird-node$i" "$ns" "$d/bird.log" bird -f -c "$d/bird.conf" -s "$d/bird.ctl"
}

bird_stop() {
  local i
  for i in "$@"; do stop_proc "bird-node$i" "$(node_ns "$i")"; done
}

# next-hop devices of the router's kernel route to the VIP: "n1 n3"
router_vip_paths() {
  ip -n "$NS_ROUTER" route show "${1:-$VIP4}" 2>/dev/null | grep -Eo 'dev t?n[0-9]+' | awk '{print $2}' | sort | xargs
}

unbound_conf() {
  local i=$1 d=$STATE/node$1
  cat >"$d/unbound.conf" <<EOF
# generated by tests/lab/lab.sh for node$i
remote-control:
  control-enable: no
server:
  interface: $VIP4
  interface: $VIP6
  interface: 127.0.0.1
  interface: ::1
  interface-automatic: no
  port: 53
  do-daemonize: no
  chroot: ""
  username: ""
  directory: "$d"
  pidfile: "$d/unbound-own.pid"
  use-syslog: no
  logfile: ""
  log-time-ascii: yes
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  so-reuseport: no
  root-hints: "$STATE/root.hints"
  trust-anchor-file: "$STATE/root.anchor"
  access-control: 192.0.2.0/24 allow
  access-control: 2001:db8:c::/64 allow
  access-control: 127.0.0.0/8 allow
  access-control: ::1/128 allow
  nsid: "ascii_node$i"
  ede: yes
  msg-cache-size: 32m
  # Debian's 1.17 silently drops replies older than 1.9 s (discard-timeout);
  # the lab wants to see the SERVFAIL for dead servers, and quickly
  discard-timeout: 0
  infra-cache-max-rtt: 2000
  rrset-cache-size: 32m
EOF
}

node_conf_file() {
  if [[ $RESOLVER == unbound ]]; then echo "$STATE/node$1/unbound.conf"
  else echo "$STATE/node$1/vipdns.conf"; fi
}

resolver_start_one() {
  local i=$1 ns conf
  ns=$(node_ns "$i"); conf=$(node_conf_file "$i")
  if proc_pid "$STATE/pids/resolver-node$i.pid" "$ns" >/dev/null; then return 0; fi
  if [[ $RESOLVER == unbound ]]; then
    start_proc "resolver-node$i" "$ns" "$STATE/node$i/resolver.log" unbound -d -c "$conf"
  else
    start_proc "resolver-node$i" "$ns" "$STATE/node$i/resolver.log" "$VIPDNSD" -c "$conf"
  fi
}

resolver_ready_one() {
  local i=$1 ns rcf
  ns=$(node_ns "$i"); rcf=$STATE/pids/resolver-node$i.rc
  resolver_alive() {
    proc_pid "$STATE/pids/resolver-node$1.pid" "$(node_ns "$1")" >/dev/null ||
      { log "resolver on node$1 exited (status $(cat "$STATE/pids/resolver-node$1.rc" 2>/dev/null || echo '?'))"; return 2; }
  }
  local deadline=$((SECONDS + 15))
  while :; do
    resolver_alive "$i" || die "resolver on node$i died; log: $STATE/node$i/resolver.log
$(tail -n 20 "$STATE/node$i/resolver.log" 2>/dev/null)"
    if dns_answers "$ns" "$VIP4" && dns_answers "$ns" "$VIP6"; then break; fi
    ((SECONDS < deadline)) || die "resolver on node$i does not answer on $VIP4/$VIP6 within 15 s; log: $STATE/node$i/resolver.log
$(tail -n 20 "$STATE/node$i/resolver.log" 2>/dev/null)"
    sleep 0.1
  done
}

resolver_start() {
  local i
  for i in "${@}"; do resolver_start_one "$i"; done
  for i in "${@}"; do resolver_ready_one "$i"; done
}

resolver_stop() {
  local i
  for i in "$@"; do stop_proc "resolver-node$i" "$(node_ns "$i")"; done
}

# ---------------------------------------------------------------- topology
mkns() {
  local ns=$1
  ip netns add "$ns"
  nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
    net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  ip -n "$ns" link set lo up
}

addr() { ip -n "$1" addr add "$3" dev "$2" ${4:+$4}; }   # addr NS DEV ADDR [nodad]

build_topology() {
  local i ns
  mkns "$NS_AUTH"; mkns "$NS_ROUTER"; mkns "$NS_CLIENT"

  # auth: one address per NSD instance on lo, blackholed "dead" servers
  nsx "$NS_AUTH" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  local line name a4 a6
  for line in "${AUTH_SERVERS[@]}"; do
    read -r name a4 a6 _ <<<"$line"
    addr "$NS_AUTH" lo "$a4/32"
    addr "$NS_AUTH" lo "$a6/128" nodad
  done
  ip -n "$NS_AUTH" route add blackhole "$DEAD4/32"
  ip -n "$NS_AUTH" -6 route add blackhole "$DEAD6/128"

  # router <-> client
  nsx "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.fib_multipath_hash_policy=1 net.ipv6.fib_multipath_hash_policy=1
  ip -n "$NS_ROUTER" link add c0 type veth peer name r0 netns "$NS_CLIENT"
  addr "$NS_ROUTER" c0 "$ROUTER_C4/24"
  addr "$NS_ROUTER" c0 "$ROUTER_C6/64" nodad
  addr "$NS_CLIENT" r0 "$CLIENT4/24"
  addr "$NS_CLIENT" r0 "$CLIENT4_X1/24"
  addr "$NS_CLIENT" r0 "$CLIENT4_X2/24"
  addr "$NS_CLIENT" r0 "$CLIENT6/64" nodad
  addr "$NS_CLIENT" r0 "$CLIENT6_X1/64" nodad
  addr "$NS_CLIENT" r0 "$CLIENT6_X2/64" nodad
  ip -n "$NS_ROUTER" link set c0 up
  ip -n "$NS_CLIENT" link set r0 up
  ip -n "$NS_CLIENT" route add default via "$ROUTER_C4" src "$CLIENT4"
  ip -n "$NS_CLIENT" -6 route add default via "$ROUTER_C6" src "$CLIENT6"

  if [[ -n $CLOUD ]]; then
    mkns "$NS_GW"
    nsx "$NS_GW" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$NS_ROUTER" link add gw0 type veth peer name r0 netns "$NS_GW"
    addr "$NS_ROUTER" gw0 "$ROUTER_U4/30"
    addr "$NS_GW" r0 "$GW_U4/30"
    ip -n "$NS_ROUTER" link set gw0 up
    ip -n "$NS_GW" link set r0 up
    ip -n "$NS_ROUTER" route add 203.0.113.128/26 via "$GW_U4" dev gw0
    gw_filter
    gre_quiet "$NS_ROUTER"
  fi
  local nh4=() nh6=()
  for ((i = 1; i <= NODES; i++)); do
    ns=$(node_ns "$i")
    mkns "$ns"
    # VIPs on the node's loopback (this kernel has no dummy link type);
    # with --anycast vipdnsd puts them there itself
    if ((!ANYCAST)); then
      addr "$ns" lo "$VIP4/32"
      addr "$ns" lo "$VIP6/128" nodad
    fi
    # node <-> auth (upstream)
    ip -n "$NS_AUTH" link add "n$i" type veth peer name up0 netns "$ns"
    addr "$NS_AUTH" "n$i" "$(node_auth4 "$i")/30"
    addr "$NS_AUTH" "n$i" "$(node_auth6 "$i")/64" nodad
    addr "$ns" up0 "$(node_up4 "$i")/30"
    addr "$ns" up0 "$(node_up6 "$i")/64" nodad
    ip -n "$NS_AUTH" link set "n$i" up
    ip -n "$ns" link set up0 up
    ip -n "$ns" route add 198.51.100.0/25 via "$(node_auth4 "$i")" dev up0
    ip -n "$ns" -6 route add 2001:db8:53::/64 via "$(node_auth6 "$i")" dev up0
    if [[ -n $CLOUD ]]; then
      # gateway <-> VM: the underlay, IPv4 only, as the cloud assigns it
      ip -n "$NS_GW" link add "n$i" type veth peer name dn0 netns "$ns"
      addr "$NS_GW" "n$i" "$(node_rtr4 "$i")/30"
      addr "$ns" dn0 "$(node_dn4 "$i")/30"
      ip -n "$NS_GW" link set "n$i" up
      ip -n "$ns" link set dn0 up
      # the router and the other VMs, through the gateway
      ip -n "$ns" route add "$ROUTER_U4/32" via "$(node_rtr4 "$i")" dev dn0
      ip -n "$ns" route add 203.0.113.128/26 via "$(node_rtr4 "$i")" dev dn0
      gre_quiet "$ns"
      continue
    fi
    # router <-> node (client side)
    ip -n "$NS_ROUTER" link add "n$i" type veth peer name dn0 netns "$ns"
    addr "$NS_ROUTER" "n$i" "$(node_rtr4 "$i")/30"
    addr "$NS_ROUTER" "n$i" "$(node_rtr6 "$i")/64" nodad
    addr "$ns" dn0 "$(node_dn4 "$i")/30"
    addr "$ns" dn0 "$(node_dn6 "$i")/64" nodad
    ip -n "$NS_ROUTER" link set "n$i" up
    ip -n "$ns" link set dn0 up
    ip -n "$ns" route add 192.0.2.0/24 via "$(node_rtr4 "$i")" dev dn0
    ip -n "$ns" -6 route add 2001:db8:c::/64 via "$(node_rtr6 "$i")" dev dn0
    # the other nodes, through the router (cluster channel, cache warming)
    ip -n "$ns" route add 203.0.113.128/26 via "$(node_rtr4 "$i")" dev dn0
    ip -n "$ns" -6 route add 2001:db8:e0::/48 via "$(node_rtr6 "$i")" dev dn0
    nh4+=(nexthop via "$(node_dn4 "$i")" dev "n$i")
    nh6+=(nexthop via "$(node_dn6 "$i")" dev "n$i")
  done
  # router: VIPs via the nodes (static ECMP; with --anycast BIRD learns
  # them over BGP instead)
  if ((!ANYCAST)); then
    ip -n "$NS_ROUTER" route add "$VIP4/32" "${nh4[@]}"
    ip -n "$NS_ROUTER" -6 route add "$VIP6/128" "${nh6[@]}"
  fi
}

write_env() {
  local i f=$STATE/lab.env
  {
    echo "# generated by tests/lab/lab.sh up; source this file"
    echo "VDLAB=$VDLAB"
    echo "VDLAB_DIR=$STATE"
    echo "VDLAB_NODES=$NODES"
    echo "VDLAB_RESOLVER=$RESOLVER"
    echo "VDLAB_VIPDNSD=${VIPDNSD:-}"
    echo "VDLAB_STARTED_RESOLVER=$START_RESOLVER"
    echo "VDLAB_ANYCAST=$ANYCAST"
    echo "VDLAB_CLOUD=$CLOUD"
    echo "NS_GW=$NS_GW"
    echo "ROUTER_U4=$ROUTER_U4"
    echo "GW_U4=$GW_U4"
    echo "TUNNEL_IF=$TUNNEL_IF"
    echo "ROUTER_BIRD_CTL=$STATE/router/bird.ctl"
    echo "NS_CLIENT=$NS_CLIENT"
    echo "NS_ROUTER=$NS_ROUTER"
    echo "NS_AUTH=$NS_AUTH"
    echo "VIP4=$VIP4"
    echo "VIP6=$VIP6"
    echo "CLIENT4=$CLIENT4"
    echo "CLIENT6=$CLIENT6"
    echo "CLIENT4_X1=$CLIENT4_X1"
    echo "CLIENT4_X2=$CLIENT4_X2"
    echo "CLIENT6_X1=$CLIENT6_X1"
    echo "CLIENT6_X2=$CLIENT6_X2"
    local line name a4 a6
    for line in "${AUTH_SERVERS[@]}"; do
      read -r name a4 a6 _ <<<"$line"
      echo "AUTH_${name^^}4=$a4"
      echo "AUTH_${name^^}6=$a6"
      echo "AUTH_${name^^}_PIDFILE=$STATE/pids/nsd-$name.pid"
    done
    echo "DEAD4=$DEAD4"
    echo "DEAD6=$DEAD6"
    echo "ROOT_HINTS=$STATE/root.hints"
    echo "TRUST_ANCHOR=$STATE/root.anchor"
    for ((i = 1; i <= NODES; i++)); do
      echo "NS_NODE$i=$(node_ns "$i")"
      echo "NODE${i}_CONF=$(node_conf_file "$i")"
      echo "NODE${i}_PIDFILE=$STATE/pids/resolver-node$i.pid"
      echo "NODE${i}_RCFILE=$STATE/pids/resolver-node$i.rc"
      echo "NODE${i}_LOG=$STATE/node$i/resolver.log"
      echo "NODE${i}_UP4=$(node_up4 "$i")"
      echo "NODE${i}_UP6=$(node_up6 "$i")"
      echo "NODE${i}_DN4=$(node_dn4 "$i")"
      echo "NODE${i}_DN6=$(node_dn6 "$i")"
      echo "NODE${i}_CTL=$STATE/node$i/control.sock"
      echo "NODE${i}_BIRD_CTL=$STATE/node$i/bird.ctl"
      echo "NODE${i}_BIRD_PIDFILE=$STATE/pids/bird-node$i.pid"
      echo "NODE${i}_GW4=$(node_rtr4 "$i")"
      echo "NODE${i}_IN4=$(node_in4 "$i")"
      echo "NODE${i}_IN6=$(node_in6 "$i")"
      echo "NODE${i}_TR4=$(node_tr4 "$i")"
      echo "NODE${i}_TR6=$(node_tr6 "$i")"
      echo "NODE${i}_TUNNEL_PIDFILE=$STATE/pids/tunnel-node$i.pid"
    done
  } >"$f"
}

# ---------------------------------------------------------------- commands
cmd_up() {
  NODES="" RESOLVER=vipdnsd VIPDNSD="" EXTRA="" START_RESOLVER=1 ANYCAST=0 CLOUD=""
  while (($#)); do
    case $1 in
      --nodes) NODES=${2:?}; shift 2 ;;
      --resolver) RESOLVER=${2:?}; shift 2 ;;
      --vipdnsd) VIPDNSD=${2:?}; shift 2 ;;
      --extra-conf) EXTRA=${2:?}; shift 2 ;;
      --no-resolver) START_RESOLVER=0; shift ;;
      --anycast) ANYCAST=1; shift ;;
      --cloud)
        CLOUD=${2:?}; shift 2; ANYCAST=1
        [[ $CLOUD == aws || $CLOUD == gcp ]] || die "--cloud must be aws or gcp" ;;
      *) die "up: unknown option '$1'" ;;
    esac
  done
  if [[ -z $NODES ]]; then if [[ -n $CLOUD ]]; then NODES=2; elif ((ANYCAST)); then NODES=3; else NODES=1; fi; fi
  if [[ -n $CLOUD ]]; then
    ((NODES <= MAX_CLOUD_NODES)) || die "--cloud takes at most $MAX_CLOUD_NODES nodes"
    for c in socat nft; do command -v "$c" >/dev/null || die "--cloud needs $c (deploy/install-deps.sh)"; done
  fi
  if ((ANYCAST)); then
    [[ $RESOLVER == vipdnsd ]] || die "--anycast needs --resolver vipdnsd"
    command -v bird >/dev/null && command -v birdc >/dev/null || die "--anycast needs bird2 (bird, birdc)"
  fi
  [[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 1 && NODES <= MAX_NODES)) || die "--nodes must be 1..$MAX_NODES"
  case $RESOLVER in
    unbound) command -v unbound >/dev/null || die "unbound not installed" ;;
    vipdnsd)
      [[ -n $VIPDNSD ]] || VIPDNSD=$ROOTDIR/build/src/vipdnsd
      [[ -x $VIPDNSD ]] || die "vipdnsd binary not found or not executable: $VIPDNSD (use --vipdnsd PATH)"
      VIPDNSD=$(cd "$(dirname "$VIPDNSD")" && pwd)/$(basename "$VIPDNSD") ;;
    *) die "--resolver must be vipdnsd or unbound" ;;
  esac
  [[ -z $EXTRA || -r $EXTRA ]] || die "--extra-conf file not readable: $EXTRA"
  [[ $(id -u) == 0 ]] || die "must run as root"
  for c in ip nsd dig ldns-keygen ldns-signzone ldns-key2ds python3; do
    command -v "$c" >/dev/null || die "missing command: $c"
  done
  local ns
  for ns in "$NS_CLIENT" "$NS_ROUTER" "$NS_AUTH" "$NS_GW" "$(node_ns 1)"; do
    ns_exists "$ns" && die "namespace $ns already exists: run '$0 down' first (VDLAB=$VDLAB)"
  done
  [[ -e $STATE/lab.env ]] && die "$STATE/lab.env exists: run '$0 down' first"

  # from here on, any failure tears the partial lab down
  trap 'rc=$?; if ((rc)); then log "up failed, tearing down"; cmd_down >/dev/null 2>&1 || true; fi' EXIT
  local t0=$SECONDS
  mkdir -p "$STATE/pids"
  touch "$STATE/.vdlab-state"
  local i
  for ((i = 1; i <= NODES; i++)); do
    mkdir -p "$STATE/node$i"
    if [[ $RESOLVER == unbound ]]; then unbound_conf "$i"; else vipdnsd_conf "$i"; fi
    if [[ -n $EXTRA ]]; then
      { echo "# --- extra conf from $EXTRA"; cat "$EXTRA"; } >>"$(node_conf_file "$i")"
    fi
  done
  write_env
  gen_zones
  if [[ $RESOLVER == unbound ]]; then
    for ((i = 1; i <= NODES; i++)); do
      unbound-checkconf "$(node_conf_file "$i")" >/dev/null || die "bad unbound config $(node_conf_file "$i")"
    done
  fi
  build_topology
  auth_start
  if [[ -n $CLOUD ]]; then
    for ((i = 1; i <= NODES; i++)); do tunnel_start_router "$i"; tunnel_start_node "$i"; done
  fi
  if ((ANYCAST)); then
    router_bird_conf
    bird_start_router
  fi
  if ((START_RESOLVER)); then
    resolver_start $(seq 1 "$NODES")
    if ((ANYCAST)); then
      for ((i = 1; i <= NODES; i++)); do bird_start_one "$i"; done
      wait_until 30 "router learns $VIP4 from all $NODES node(s)" \
        eval '[[ $(router_vip_paths | wc -w) == "$NODES" ]]' ||
        die "router has paths '$(router_vip_paths)' for $VIP4, expected $NODES; logs in $STATE/node*/"
    fi
    wait_until 10 "client reaches $VIP4" dns_answers "$NS_CLIENT" "$VIP4" || die "client cannot reach $VIP4"
    wait_until 10 "client reaches $VIP6" dns_answers "$NS_CLIENT" "$VIP6" || die "client cannot reach $VIP6"
  fi
  trap - EXIT
  log "up: $NODES node(s), resolver=$RESOLVER$( ((START_RESOLVER)) || echo ' (not started)'), state $STATE, $((SECONDS - t0)) s"
}

cmd_down() {
  local ns i n pid
  # recorded processes first (by PID, only if still inside our namespace)
  if [[ -d $STATE/pids ]]; then
    local pidf name
    for pidf in "$STATE"/pids/*.pid; do
      [[ -e $pidf ]] || continue
      name=$(basename "$pidf" .pid)
      case $name in
        nsd-*) ns=$NS_AUTH ;;
        resolver-node*) ns=$(node_ns "${name#resolver-node}") ;;
        bird-node*) ns=$(node_ns "${name#bird-node}") ;;
        bird-router|tunnel-router*) ns=$NS_ROUTER ;;
        tunnel-node*) ns=$(node_ns "${name#tunnel-node}") ;;
        *) continue ;;
      esac
      stop_proc "$name" "$ns"
    done
  fi
  # namespaces with our prefix
  local all
  all=$(ip netns list 2>/dev/null | awk '{print $1}' |
        grep -E "^${VDLAB}-(client|router|auth|gw|node[0-9]+)$" || true)
  for ns in $all; do
    # anything still running inside a namespace we created was started by
    # the lab or a test; stop it by PID before deleting the namespace
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      log "stopping leftover pid $pid ($(cat /proc/"$pid"/comm 2>/dev/null)) in $ns"
      kill -TERM "$pid" 2>/dev/null || true
    done
    n=0
    while [[ -n $(ip netns pids "$ns" 2>/dev/null) ]] && ((n++ < 40)); do sleep 0.05; done
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  # state dir: only if it is ours
  if [[ -d $STATE ]]; then
    if [[ -e $STATE/.vdlab-state && $STATE != / ]]; then
      rm -rf -- "$STATE"
    else
      log "not removing $STATE (no .vdlab-state marker)"
    fi
  fi
  return 0
}

cmd_status() {
  if [[ ! -f $STATE/lab.env ]]; then
    echo "lab '$VDLAB': down"
    ip netns list | awk '{print $1}' | grep -E "^${VDLAB}-" | sed 's/^/  stray namespace: /' || true
    return 1
  fi
  load_env
  echo "lab '$VDLAB': $VDLAB_NODES node(s), resolver $VDLAB_RESOLVER, state $STATE"
  local ns bad=0 line name pid i
  for ns in "$NS_CLIENT" "$NS_ROUTER" "$NS_AUTH"; do
    ns_exists "$ns" && echo "  ns $ns: present" || { echo "  ns $ns: MISSING"; bad=1; }
  done
  for line in "${AUTH_SERVERS[@]}"; do
    read -r name _ <<<"$line"
    if pid=$(proc_pid "$STATE/pids/nsd-$name.pid" "$NS_AUTH"); then echo "  nsd-$name: running (pid $pid)"
    else echo "  nsd-$name: stopped"; fi
  done
  for ((i = 1; i <= VDLAB_NODES; i++)); do
    ns=$(node_ns "$i")
    ns_exists "$ns" || { echo "  ns $ns: MISSING"; bad=1; continue; }
    if pid=$(proc_pid "$STATE/pids/resolver-node$i.pid" "$ns"); then
      echo "  node$i ($ns): $VDLAB_RESOLVER running (pid $pid)"
    else
      echo "  node$i ($ns): $VDLAB_RESOLVER not running (last exit status: $(cat "$STATE/pids/resolver-node$i.rc" 2>/dev/null || echo none))"
    fi
  done
  if dns_answers "$NS_CLIENT" "$VIP4"; then echo "  client -> $VIP4: answers"; else echo "  client -> $VIP4: NO ANSWER"; bad=1; fi
  if dns_answers "$NS_CLIENT" "$VIP6"; then echo "  client -> $VIP6: answers"; else echo "  client -> $VIP6: NO ANSWER"; bad=1; fi
  return $bad
}

resolve_ns() {
  case $1 in
    client|router|auth|gw) echo "$VDLAB-$1" ;;
    node[0-9]*) echo "$VDLAB-$1" ;;
    "$VDLAB"-*) echo "$1" ;;
    *) die "unknown namespace '$1' (client, router, auth, nodeN)" ;;
  esac
}

node_list() {
  if (($#)); then echo "$@"; else seq 1 "$VDLAB_NODES"; fi
}

main() {
  local cmd=${1:-}; shift || true
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) load_env; cat "$STATE/lab.env" ;;
    exec)
      (($# >= 2)) || die "usage: exec NODE_OR_CLIENT cmd..."
      local ns; ns=$(resolve_ns "$1"); shift
      ns_exists "$ns" || die "namespace $ns does not exist"
      exec ip netns exec "$ns" "$@" ;;
    auth-stop) load_env; auth_stop; log "auth servers stopped" ;;
    auth-start) load_env; auth_start; log "auth servers started" ;;
    auth-zone)
      (($# >= 2)) || die "usage: auth-zone NAME FILE [--sign]"
      load_env; auth_zone "$@"; log "auth server $1 serves $2" ;;
    resolver-stop)
      load_env; RESOLVER=$VDLAB_RESOLVER
      # shellcheck disable=SC2046  # one argument per node, split on purpose
      resolver_stop $(node_list "$@") ;;
    resolver-start)
      load_env; RESOLVER=$VDLAB_RESOLVER; VIPDNSD=$VDLAB_VIPDNSD
      # shellcheck disable=SC2046
      resolver_start $(node_list "$@") ;;
    bird-stop) load_env; bird_stop $(node_list "$@") ;;
    bird-start)
      load_env; VIPDNSD=$VDLAB_VIPDNSD
      local i; for i in $(node_list "$@"); do bird_start_one "$i"; done ;;
    tunnel-stop)
      load_env; [[ -n $VDLAB_CLOUD ]] || die "tunnel-stop: not a --cloud lab"
      local i; for i in $(node_list "$@"); do tunnel_stop_node "$i"; done ;;
    tunnel-start)
      load_env; [[ -n $VDLAB_CLOUD ]] || die "tunnel-start: not a --cloud lab"
      VIPDNSD=$VDLAB_VIPDNSD; CLOUD=$VDLAB_CLOUD
      local i; for i in $(node_list "$@"); do tunnel_start_node "$i"; done ;;
    birdc)
      load_env
      local where=$1; shift
      if [[ $where == router ]]; then exec ip netns exec "$NS_ROUTER" birdc -s "$STATE/router/bird.ctl" "$@"
      else exec ip netns exec "$(resolve_ns "$where")" birdc -s "$STATE/$where/bird.ctl" "$@"; fi ;;
    ""|-h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (up, down, status, env, exec, auth-stop, auth-start, auth-zone, resolver-stop, resolver-start)" ;;
  esac
}

main "$@"
