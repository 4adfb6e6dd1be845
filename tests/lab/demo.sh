#!/usr/bin/env bash
# Bring the lab up with vipdnsd and show a handful of real queries from the
# client namespace through the anycast VIP.  The lab is left running.
#   tests/lab/demo.sh [PATH_TO_VIPDNSD]      (default ./build/src/vipdnsd)
# Honours VDLAB / VDLAB_DIR like lab.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB=$HERE/lab.sh
VIPDNSD=${1:-./build/src/vipdnsd}
export VDLAB=${VDLAB:-vdlab}

if [[ -e ${VDLAB_DIR:-/tmp/$VDLAB}/lab.env ]]; then
  echo "== a lab '$VDLAB' is already up; tearing it down first"
  "$LAB" down
fi
"$LAB" up --vipdnsd "$VIPDNSD"
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
show "large answer over TCP" @"$VIP4" +tcp big.lab. TXT
printf '\n== cached answer: the TTL goes down\n'
for i in 1 2 3; do
  ip netns exec "$NS_CLIENT" dig +time=3 +tries=1 @"$VIP4" +noall +answer www.lab. A
  [[ $i == 3 ]] || sleep 1.5
done

cat <<EOF

The lab is still running ($VDLAB: client, router, auth, node1).
Query by hand:
  ip netns exec $NS_CLIENT dig @$VIP4 www.lab.
  ip netns exec $NS_CLIENT dig @$VIP6 +dnssec www.secure.example.
  VDLAB=$VDLAB $LAB exec client dig @$VIP4 +nsid www.lab.
  VDLAB=$VDLAB $LAB status
Resolver log: $NODE1_LOG
Tear down:
  VDLAB=$VDLAB $LAB down
EOF
