#!/usr/bin/env bash
# Bring the lab up with vipdnsd and show a handful of real queries from the
# client namespace through the anycast VIP: three resolver nodes, each with
# BIRD announcing the VIP by health to a BIRD router that spreads clients
# over them with ECMP.  The lab is left running.
#   tests/lab/demo.sh [PATH_TO_VIPDNSD] [--cloud aws|gcp]
#     (default ./build/src/vipdnsd; --cloud: two VM nodes behind a cloud
#     gateway, BGP and DNS inside GRE tunnels, docs/tunnels.md)
# Honours VDLAB / VDLAB_DIR like lab.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
VIPDNSD=./build/src/vipdnsd
[[ $# -gt 0 && $1 != --* ]] && { VIPDNSD=$1; shift; }
CLOUD=""
while (($#)); do
  case $1 in
    --cloud) CLOUD=${2:?--cloud needs aws or gcp}; shift 2 ;;
    *) echo "demo.sh: unknown option $1 (--cloud aws|gcp)" >&2; exit 2 ;;
  esac
done
export VDLAB=${VDLAB:-vdlab}

if [[ -e ${VDLAB_DIR:-/tmp/$VDLAB}/lab.env ]]; then
  echo "== a lab '$VDLAB' is already up; tearing it down first"
  "$LAB" down
fi
if [[ -n $CLOUD ]]; then
  "$LAB" up --cloud "$CLOUD" --vipdnsd "$VIPDNSD"
else
  "$LAB" up --anycast --vipdnsd "$VIPDNSD"
fi
# shellcheck disable=SC1090
source <("$LAB" env)

show() {   # show "what" dig-args...
  local what=$1; shift
  printf '\n\033[1m== %s\033[0m\n$ ip netns exec %s dig %s\n' "$what" "$NS_CLIENT" "$*"
  ip netns exec "$NS_CLIENT" dig +time=3 +tries=1 "$@" 2>&1 |
    grep -E '^;; (->>HEADER|flags)|EDE|NSID|^[^;[:space:]]|Truncated|^;; SERVER|MSG SIZE' || true
}

show "A record" @"$VIP4" www.lab. A
show "AAAA over the IPv6 VIP" @"$VIP6" www.lab. AAAA
show "CNAME chain" @"$VIP4" alias.lab. A
show "NXDOMAIN" @"$VIP4" nonexistent.lab. A
show "DNSSEC-validated answer (note the ad flag)" @"$VIP4" +dnssec www.secure.example. A
show "broken signature -> SERVFAIL" @"$VIP4" www.bogus.example. A
show "same with checking disabled (+cd)" @"$VIP4" +cd www.bogus.example. A
show "NSID names the node that answered" @"$VIP4" +nsid www.lab. A
show "large answer: TC over UDP (+ignore)" @"$VIP4" +ignore +notcp big.lab. TXT
show "large answer over TCP" @"$VIP4" +tcp +noanswer big.lab. TXT
printf '\n\033[1m== cached answer: the TTL goes down\033[0m\n'
for i in 1 2 3; do
  ip netns exec "$NS_CLIENT" dig +time=3 +tries=1 -b 192.0.2.10#40000 @"$VIP4" +noall +answer www.lab. A
  [[ $i == 3 ]] || sleep 1.5
done

printf '\n\033[1m== ECMP: which node answers, by client source port (NSID)\033[0m\n'
for port in $(seq 41000 41011); do
  id=$(ip netns exec "$NS_CLIENT" dig +time=3 +tries=1 -b "192.0.2.10#$port" @"$VIP4" +nsid www.lab. A 2>/dev/null |
       sed -n 's/.*NSID: .*("\(.*\)").*/\1/p')
  printf '  source port %s -> %s\n' "$port" "${id:-no answer}"
done

printf '\n\033[1m== the router learns the VIP from every healthy node over BGP\033[0m\n'
ip netns exec "$NS_ROUTER" ip route show 203.0.113.1 || true
if [[ -n $CLOUD ]]; then
  printf '\n\033[1m== cloud (%s): the gateway routes only the VMs underlay addresses\033[0m\n' "$CLOUD"
  printf '$ ip netns exec %s ip route get 203.0.113.1\n' "$NS_GW"
  ip netns exec "$NS_GW" ip route get 203.0.113.1 2>&1 | sed 's/^/  /' || true
  printf '  so the VIP and BGP run inside a GRE tunnel to each VM:\n'
  ip netns exec "$NS_ROUTER" ip -6 route show 2001:db8::1 | sed 's/^/  /' || true
  printf '\n$ vipdnsctl status   (node1: tunnel and BFD)\n'
  "$(dirname "$VIPDNSD")/vipdnsctl" -s "$NODE1_CTL" status | grep -E '^(anycast|tunnel|bfd)' | sed 's/^/  /'
  printf '\n$ vipdnsd --tunnel-config   (what a production VM installs, node1)\n'
  ls "$VDLAB_DIR/node1/tunnel" | sed 's/^/  /'
fi

printf '\n\033[1m== vipdnsd with no configuration at all (a fresh namespace, loopback only)\033[0m\n'
zc=vdzeroconf$$
ip netns add "$zc"
ip -n "$zc" link set lo up
ip netns exec "$zc" "$VIPDNSD" >"${VDLAB_DIR:-/tmp/$VDLAB}/zeroconf.log" 2>&1 &
zpid=$!
for _ in $(seq 1 50); do
  ip netns exec "$zc" dig +time=1 +tries=1 @127.0.0.1 . NS >/dev/null 2>&1 && break
  sleep 0.1
done
grep -E 'listening|ready' "${VDLAB_DIR:-/tmp/$VDLAB}/zeroconf.log" | sed 's/^/  /'
printf '  (no route to the real root here, so a query gets SERVFAIL with EDE 22:)\n'
ip netns exec "$zc" dig +time=3 +tries=1 @::1 example.com | grep -E 'status|EDE' | sed 's/^/  /'
kill -TERM "$zpid"; wait "$zpid" && echo "  SIGTERM: exited 0"
ip netns del "$zc"

cat <<EOF

The lab is still running ($VDLAB: client, router, auth, node1..node$VDLAB_NODES${CLOUD:+, gw}).
Query by hand:
  ip netns exec $NS_CLIENT dig @$VIP4 www.lab.
  ip netns exec $NS_CLIENT dig @$VIP6 +dnssec www.secure.example.
  VDLAB=$VDLAB $LAB exec client dig @$VIP4 +nsid www.lab.
  VDLAB=$VDLAB $LAB status
Watch a node leave the ECMP set and come back:
  ip netns exec ${VDLAB}-node2 $(dirname "$VIPDNSD")/vipdnsctl -s ${VDLAB_DIR:-/tmp/$VDLAB}/node2/control.sock drain
  ip netns exec $NS_ROUTER ip route show 203.0.113.1
  ip netns exec ${VDLAB}-node2 $(dirname "$VIPDNSD")/vipdnsctl -s ${VDLAB_DIR:-/tmp/$VDLAB}/node2/control.sock undrain
Resolver log: $NODE1_LOG
Tear down:
  VDLAB=$VDLAB $LAB down
EOF
