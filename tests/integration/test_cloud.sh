#!/usr/bin/env bash
# Cloud VPC deployment (issue 9): the nodes are VMs behind a cloud gateway
# that routes only the underlay addresses it assigned, so BGP and the VIPs'
# DNS run inside a GRE tunnel from the on-premises router to each node,
# configured from the node's own `tunnel =` line.
#   gcp topology: one IPv4-only BGP session per tunnel carries the IPv6 VIP
#     (next hop: the tunnel's inner6); a VIP routed the plain way dies at
#     the gateway; v4 and v6 (and a v6-only client) reach the VIPs; ECMP
#     spreads by NSID; tunnel, BFD and the MTU in status and metrics; the
#     rendered nftables MSS clamp loads; killing a node's tunnel process,
#     or the whole VM's link, takes it out of ECMP within 1 s with no
#     failed query after; a drain loses no query.
#   azure (files only, this kernel has no XFRM): IPsec tunnels with a PSK
#     and with certificates pass -t and render; the connections, secret and
#     key load into a real charon (swanctl --load-all), route-based.
#   aws topology: an IPv4 and an IPv6 session per tunnel, both protected
#     by BFD, both routes leave together when the tunnel dies.
# Failover figures are printed as "figure:" lines (benchmarks/README.md).
#
#   tests/integration/test_cloud.sh build/src/vipdnsd [build/src/vipdnsctl]
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=test_cloud
VIPDNSD=${1:-$HERE/../../build/src/vipdnsd}
VIPDNSCTL=${2:-$(dirname "$VIPDNSD")/vipdnsctl}
export VDLAB=${VDLAB:-vdtcl}
RESOLVER=vipdnsd
# shellcheck source=lib.sh
source "$HERE/lib.sh"
require bird birdc python3 socat nft curl swanctl openssl
LOAD=$HERE/anycast_load.py
METRICS=127.0.0.1@9180

ctl() { local i=$1; shift; local v="NODE${i}_CTL"; "$VIPDNSCTL" -s "${!v}" "$@"; }
metrics() { in_node "$1" curl -s --max-time 2 "http://${METRICS/@/:}/metrics"; }
paths() { ip -n "$NS_ROUTER" $([[ ${1:-$VIP4} == *:* ]] && echo -6) route show "${1:-$VIP4}" 2>/dev/null | grep -Eo 'dev tn[0-9]+' | awk '{print $2}' | sort | xargs; }
has_path() { [[ " $(paths "${2:-$VIP4}") " == *" tn$1 "* ]]; }
no_path() { ! has_path "$1" "$VIP4" && ! has_path "$1" "$VIP6"; }
both_paths() { [[ $(paths) == "tn1 tn2" && $(paths "$VIP6") == "tn1 tn2" ]]; }
load_bg() { ip netns exec "$NS_CLIENT" python3 "$LOAD" "$1" 400 "$2" >"$3" 2>&1 & LOAD_PID=$!; }
load_field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p; s/^$2=\([^ ]*\).*/\1/p" "$1" | head -1; }
# ms until cmd is true (polled every 20 ms), 99999 on timeout
time_until() {
  local secs=$1; shift
  local t0 t1; t0=$(date +%s%N)
  local deadline=$((SECONDS + secs))
  until "$@"; do ((SECONDS < deadline)) || { echo 99999; return 1; }; sleep 0.02; done
  t1=$(date +%s%N); echo $(((t1 - t0) / 1000000))
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
status_has() { grep -q -- "$2" <<<"$(ctl "$1" status)"; }

# A failover under load: "$@" breaks node2 at a known moment; the route
# must leave the router within 1 s (BFD 3 x 100 ms) and no query may fail
# after it left.  Prints the figures; restores with $RESTORE.
failover() {
  local what=$1; shift
  load_bg "$VIP4" 4 "$WORK/$what.v4"
  local pid4=$LOAD_PID
  load_bg "$VIP6" 4 "$WORK/$what.v6"
  local pid6=$LOAD_PID
  sleep 1.5
  local t_break; t_break=$(now_ms)
  "$@"
  local ms; ms=$(time_until 5 no_path 2)
  check "$what: node2's v4 and v6 routes leave the router within 1 s (${ms} ms)" eval "((ms <= 1000))"
  check "$what: node1 keeps both" eval '[[ $(paths) == "tn1" && $(paths "$VIP6") == "tn1" ]]'
  wait "$pid4" "$pid6"
  local f out loss_ms
  for f in v4 v6; do
    out=$(cat "$WORK/$what.$f")
    info "$what ($f): $out"
    # last_loss is seconds since the load began (1.5 s before the break);
    # answers in flight to node2 when it broke are lost, none after the
    # route left (plus the load's 1 s answer timeout for those in flight)
    loss_ms=$(awk -v l="$(load_field <(echo "$out") last_loss)" 'BEGIN { printf "%d", l * 1000 }')
    check "$what ($f): no query failed (rcode) at all" eval "(( $(load_field <(echo "$out") failed) == 0 ))"
    check "$what ($f): no query lost after the route left (last loss $loss_ms ms after load start; route gone at $((1500 + ms)) ms)" \
      eval "(( loss_ms <= 1500 + ms + 1000 ))"
    echo "figure: cloud/$CLOUD $what failover ${ms} ms ($f): $out"
  done
}

# ---------------------------------------------------------------- gcp
CLOUD=gcp
lab_start --cloud gcp --vd-conf "metrics-listen = $METRICS"
C6_NS=$VDLAB-c6
EXTRA_NS+=("$C6_NS")

section "gcp: rendered tunnel files"
T=$VDLAB_DIR/node1/tunnel
check "networkd .netdev: Kind=gre, derived MTU 1476, the underlay ends" \
  eval "grep -q '^Kind=gre' $T/tun0.netdev && grep -q '^MTUBytes=1476' $T/tun0.netdev && grep -q '^Remote=$ROUTER_U4' $T/tun0.netdev"
check "networkd .network: inner v4 and v6 addresses" \
  eval "grep -q '^Address=$NODE1_IN4/30' $T/tun0.network && grep -q '^Address=$NODE1_IN6/64' $T/tun0.network"
check "the MSS clamp loads into nftables (nft -f)" in_node 1 nft -f "$T/vipdns-tunnels.nft"
OUT=$(in_node 1 nft list table inet vipdns_tunnels 2>&1)
check "MSS clamped to 1436 (v4) / 1416 (v6) on tun0" eval "grep -q 'maxseg size set 1436' <<<\"\$OUT\" && grep -q 'maxseg size set 1416' <<<\"\$OUT\""
check "bird.conf binds the session to the tunnel" grep -q 'interface "tun0"' "$VDLAB_DIR/node1/bird.conf"
check "bird.conf: the IPv6 VIP's next hop is the tunnel's inner6" \
  grep -q "next hop address $NODE1_IN6;" "$VDLAB_DIR/node1/bird.conf"

section "azure: the rendered IPsec configuration loads into strongSwan"
# The production path (route-based IPsec on an XFRM interface) cannot run
# on this kernel; what can be proven is that charon takes the generated
# connection and secrets as they are.  charon runs in a namespace of its
# own with no links but lo, so its initiation attempts go nowhere.
SW=$WORK/sw
mkdir -p "$SW/out"
head -c 32 /dev/urandom | base64 >"$SW/az.psk"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=lab-ca -keyout "$SW/ca.key" -out "$SW/ca.pem" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=node1.example -keyout "$SW/node.key" -out "$SW/node.pem" >/dev/null 2>&1
cat >"$SW/vipdns.conf" <<EOF
anycast = yes
vip = 203.0.113.1
vip = 2001:db8::1
bgp-router-id = 198.51.100.10
bgp-local-as = 65001
bird-announce-file = $SW/announce.conf
tunnel = az1 ipsec local 198.51.100.10 remote 192.0.2.2 inner 203.0.113.70/30 inner6 2001:db8:7e:9::2/64 psk-file $SW/az.psk
tunnel = az2 ipsec local 198.51.100.10 remote 192.0.2.3 inner 203.0.113.74/30 cert $SW/node.pem private-key $SW/node.key ca $SW/ca.pem remote-id router.example esp aes256gcm16 ike aes256gcm16-prfsha384-ecp384
bgp-neighbor = 203.0.113.69 as 65515 tunnel az1 bfd dual
bgp-neighbor = 203.0.113.73 as 65515 tunnel az2 bfd
EOF
check "vipdnsd -t accepts the IPsec tunnels" "$VIPDNSD" -c "$SW/vipdns.conf" -t
check "vipdnsd --tunnel-config renders them" "$VIPDNSD" -c "$SW/vipdns.conf" --tunnel-config "$SW/out"
cat >"$SW/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce openssl kdf aes sha1 sha2 hmac gcm pem pkcs1 pkcs8 x509 revocation constraints pubkey kernel-netlink socket-default vici updown
  plugins {
    vici {
      socket = unix://$SW/charon.vici
    }
  }
  install_routes = no
  port = 0
  port_nat_t = 0
}
swanctl {
  socket = unix://$SW/charon.vici
}
EOF
SW_NS=$VDLAB-sw
EXTRA_NS+=("$SW_NS")
ip netns add "$SW_NS"
ip -n "$SW_NS" link set lo up
ip netns exec "$SW_NS" sh -c "mount -t tmpfs vdsw /run && exec env STRONGSWAN_CONF=$SW/strongswan.conf /usr/lib/ipsec/charon" >"$SW/charon.log" 2>&1 &
EXTRA_PIDS+=($!)
wait_for 10 test -S "$SW/charon.vici"
# as /etc/swanctl/swanctl.conf includes conf.d/*.conf
# (its directory is swanctl's base: the key is taken from out/private/)
echo "include $SW/out/swanctl-*.conf" >"$SW/out/swanctl.conf"
OUT=$(STRONGSWAN_CONF=$SW/strongswan.conf ip netns exec "$SW_NS" swanctl --load-all --noprompt --file "$SW/out/swanctl.conf" 2>&1)
check "swanctl --load-all takes both rendered connections and their secrets" \
  eval "grep -q 'successfully loaded 2 connections' <<<\"\$OUT\" && grep -q \"loaded ike secret 'ike-az1'\" <<<\"\$OUT\" && grep -q \"loaded .*private key\" <<<\"\$OUT\""
OUT=$(STRONGSWAN_CONF=$SW/strongswan.conf ip netns exec "$SW_NS" swanctl --list-conns 2>&1)
check "charon has both connections, route-based (0.0.0.0/0 ::/0 selectors)" \
  eval "grep -q '^az1: IKEv2' <<<\"\$OUT\" && grep -q '^az2: IKEv2' <<<\"\$OUT\" && grep -q 'remote: 0.0.0.0/0 ::/0' <<<\"\$OUT\""
check "az2 authenticates with the certificate (its subject as our id), expecting router.example" \
  eval "grep -q 'id: router.example' <<<\"\$OUT\" && grep -q 'id: CN=node1.example' <<<\"\$OUT\""
OUT=$(STRONGSWAN_CONF=$SW/strongswan.conf ip netns exec "$SW_NS" swanctl --list-certs 2>&1)
check "the node's certificate is loaded" grep -q 'node1.example' <<<"$OUT"
check "the XFRM interface ids reach the config (if_id 1 and 2)" \
  eval "grep -q 'if_id_in = 1' '$SW/out/swanctl-az1.conf' && grep -q 'if_id_out = 2' '$SW/out/swanctl-az2.conf' && grep -q '^InterfaceId=2' '$SW/out/az2.netdev'"
check "ESP MTU: 1422 with the default CBC fallback, 1438 with GCM only" \
  eval "grep -q '^MTUBytes=1422' '$SW/out/az1.netdev' && grep -q '^MTUBytes=1438' '$SW/out/az2.netdev'"
kill "${EXTRA_PIDS[-1]}" 2>/dev/null

section "gcp: the cloud gateway drops what it did not assign"
OUT=$(ip -n "$NS_GW" route get "$VIP4" 2>&1 || true)
check "the gateway has no route to the VIP ($OUT)" eval "! grep -q 'dev n' <<<\"\$OUT\""
# What a plain BGP announcement (next hop: the VM's underlay address)
# amounts to: the router sends the VIP's traffic to the gateway.  Only for
# one client address, so the rest of the lab is untouched.
before=$(ip netns exec "$NS_GW" nft list counter inet cloudgw not_underlay | grep -o 'packets [0-9]*' | awk '{print $2}')
ip -n "$NS_ROUTER" rule add from "$CLIENT4_X1" lookup 100 priority 100
ip -n "$NS_ROUTER" route add "$VIP4/32" via "$GW_U4" dev gw0 table 100
OUT=$(in_client dig +time=1 +tries=1 -b "$CLIENT4_X1" @"$VIP4" www.lab. A 2>&1)
check "a VIP routed to the gateway gets no answer" grep -q 'timed out\|no servers could be reached' <<<"$OUT"
after=$(ip netns exec "$NS_GW" nft list counter inet cloudgw not_underlay | grep -o 'packets [0-9]*' | awk '{print $2}')
check "the gateway dropped it (not_underlay counter $before -> $after)" eval "(( after > before ))"
ip -n "$NS_ROUTER" rule del from "$CLIENT4_X1" lookup 100 priority 100
ip -n "$NS_ROUTER" route flush table 100

section "gcp: the IPv6 VIP over IPv4-only BGP sessions"
wait_for 10 both_paths
check "router: ECMP over both tunnels for $VIP4 and $VIP6" both_paths
OUT=$("$LAB" birdc router show protocols all node1 2>&1)
check "node1's session is IPv4 (neighbor $NODE1_IN4) and Established" \
  eval "grep -q 'Neighbor address: $NODE1_IN4' <<<\"\$OUT\" && grep -q 'BGP state:.*Established' <<<\"\$OUT\""
check "it carries an ipv6 channel" grep -q 'Channel ipv6' <<<"$OUT"
check "no IPv6 session exists" eval "! grep -q 'Neighbor address: 2001' <<<\"\$OUT\""
R6=$(ip -n "$NS_ROUTER" -6 route show "$VIP6")
info "router: $(tr -s '\n\t' ' ' <<<"$R6")"
check "the router's kernel installed real IPv6 next hops (inner6), none IPv4-mapped" \
  eval "grep -q 'via $NODE1_IN6 dev tn1' <<<\"\$R6\" && ! grep -q '::ffff:' <<<\"\$R6\""
q "$VIP4" www.lab. A
expect_rcode NOERROR "client -> $VIP4 through the tunnel: NOERROR"
OUT=$(in_client dig +time=2 +tries=2 @"$VIP6" www.lab. AAAA 2>&1)
check "client -> $VIP6 through the tunnel: NOERROR" grep -q 'status: NOERROR' <<<"$OUT"

# a client with no IPv4 at all
ip netns add "$C6_NS"
ip -n "$C6_NS" link set lo up
ip netns exec "$C6_NS" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$NS_ROUTER" link add c6 type veth peer name r0 netns "$C6_NS"
ip -n "$NS_ROUTER" addr add 2001:db8:c:6::1/64 dev c6 nodad
ip -n "$C6_NS" addr add 2001:db8:c:6::10/64 dev r0 nodad
ip -n "$NS_ROUTER" link set c6 up
ip -n "$C6_NS" link set r0 up
ip -n "$C6_NS" -6 route add default via 2001:db8:c:6::1
OUT=$(ip netns exec "$C6_NS" dig +time=2 +tries=3 @"$VIP6" www.lab. AAAA 2>&1)
check "a v6-only client resolves through $VIP6 (IPv4-only BGP underneath)" grep -q 'status: NOERROR' <<<"$OUT"
check "the v6-only client has no IPv4 address" eval "! ip -n '$C6_NS' -4 addr show scope global | grep -q inet"

section "gcp: spread over the VMs (NSID)"
OUT=$(ip netns exec "$NS_CLIENT" python3 "$LOAD" "$VIP4" 300 3)
info "IPv4: $OUT"
for n in node1 node2; do
  c=$(grep -o "$n:[0-9]*" <<<"$OUT" | cut -d: -f2)
  check "$n answers a share of $VIP4 (${c:-0})" eval "((${c:-0} > 900 / 10))"
done
OUT=$(ip netns exec "$NS_CLIENT" python3 "$LOAD" "$VIP6" 300 2)
info "IPv6: $OUT"
check "$VIP6 spread over both VMs" eval "[[ \$(grep -o 'node[12]:' <<<\"\$OUT\" | sort -u | wc -l) == 2 ]]"

section "gcp: tunnel and BFD state for the operator"
check "status: tunnel tun0 up, with its MTU" status_has 1 'tunnel tun0: up (gre, mtu 1476, interface up, BFD 1 of 1 up)'
check "status: BFD to the router Up on tun0" status_has 1 "bfd $NODE1_TR4: Up (interface tun0"
check "status summary counts tunnels and BFD" status_has 1 'tunnels 1 of 1 up, BFD 1 of 1 up'
M=$(metrics 1)
check "metric vipdns_tunnel_up{tunnel=\"tun0\"} 1" grep -q '^vipdns_tunnel_up{tunnel="tun0",type="gre"} 1' <<<"$M"
check "metric vipdns_tunnel_mtu_bytes 1476" grep -q '^vipdns_tunnel_mtu_bytes{tunnel="tun0",type="gre"} 1476' <<<"$M"
check "metric vipdns_anycast_bfd_session_up{neighbor=\"$NODE1_TR4\"} 1" \
  grep -q "^vipdns_anycast_bfd_session_up{neighbor=\"$NODE1_TR4\"} 1" <<<"$M"

section "gcp: node2's tunnel process killed"
tunnel_kill() { kill -KILL "$(cat "$NODE2_TUNNEL_PIDFILE")"; }
failover "tunnel-kill" tunnel_kill
wait_for 6 status_has 2 'tunnel tun0: DOWN (gre, mtu 1476, interface missing'
check "node2's status says its tunnel is down (interface missing)" status_has 2 'tunnel tun0: DOWN'
check "node2's metric vipdns_tunnel_up 0" eval "metrics 2 | grep -q '^vipdns_tunnel_up{tunnel=\"tun0\",type=\"gre\"} 0'"
"$LAB" tunnel-start 2 >/dev/null 2>"$WORK/tstart.err"
ms=$(time_until 20 both_paths)
check "tunnel back: node2 rejoins ECMP (${ms} ms)" eval "((ms < 20000))"
wait_for 6 status_has 2 'tunnel tun0: up'
check "node2's status says up again" status_has 2 'tunnel tun0: up'

section "gcp: the whole VM gone (its link down)"
vm_down() { ip -n "$NS_NODE2" link set dn0 down; }
failover "vm-down" vm_down
ip -n "$NS_NODE2" link set dn0 up
ip -n "$NS_NODE2" route replace "$ROUTER_U4/32" via "$NODE2_GW4" dev dn0
ip -n "$NS_NODE2" route replace 203.0.113.128/26 via "$NODE2_GW4" dev dn0
"$LAB" tunnel-start 2 >/dev/null 2>>"$WORK/tstart.err"  # its socat died with the link
ms=$(time_until 20 both_paths)
check "VM back: node2 rejoins ECMP (${ms} ms)" eval "((ms < 20000))"

section "gcp: planned drain over the tunnel loses no query"
load_bg "$VIP4" 4 "$WORK/drain.v4"; pid4=$LOAD_PID
load_bg "$VIP6" 4 "$WORK/drain.v6"; pid6=$LOAD_PID
sleep 1
ctl 2 drain >/dev/null
ms=$(time_until 8 no_path 2)
check "drained node2 leaves ECMP (${ms} ms)" eval "((ms < 8000))"
wait "$pid4" "$pid6"
for f in v4 v6; do
  info "drain ($f): $(cat "$WORK/drain.$f")"
  check "drain ($f): nothing lost or failed" \
    eval "(( $(load_field "$WORK/drain.$f" lost) == 0 && $(load_field "$WORK/drain.$f" failed) == 0 ))"
done
ctl 2 undrain >/dev/null
ms=$(time_until 15 both_paths)
check "undrained node2 is back (${ms} ms)" eval "((ms < 15000))"

# ---------------------------------------------------------------- aws
# The aws topology adds a second bring-up (about a minute); its code paths
# (dual sessions, inner6 next hops) are the gcp ones plus a session, so a
# sanitizer tree, which runs this script too, checks them under gcp only.
if [[ ${VD_SANITIZE:-none} != none ]]; then
  ip netns del "$C6_NS" 2>/dev/null
  skip "aws topology: run in the normal tree (this tree is built with -Db_sanitize=$VD_SANITIZE)"
  finish
fi
ip netns del "$C6_NS" 2>/dev/null
"$LAB" resolver-stop >/dev/null 2>&1
"$LAB" down >/dev/null 2>&1
CLOUD=aws
lab_start --cloud aws

section "aws: an IPv4 and an IPv6 session in each tunnel"
wait_for 15 both_paths
check "router: ECMP over both tunnels for $VIP4 and $VIP6" both_paths
OUT=$("$LAB" birdc router show protocols 2>&1)
check "four sessions Established (v4 + v6 per VM)" eval "(( \$(grep -c 'Established' <<<\"\$OUT\") == 4 ))"
R6=$(ip -n "$NS_ROUTER" -6 route show "$VIP6")
check "the IPv6 VIP's next hops are the nodes' inner6 addresses" \
  eval "grep -q 'via $NODE1_IN6 dev tn1' <<<\"\$R6\" && grep -q 'via $NODE2_IN6 dev tn2' <<<\"\$R6\""
check "status: both BFD sessions Up" \
  eval "status_has 1 'bfd $NODE1_TR4: Up' && status_has 1 'bfd $NODE1_TR6: Up' && status_has 1 'BFD 2 of 2 up'"
q "$VIP4" www.lab. A
expect_rcode NOERROR "client -> $VIP4: NOERROR"
OUT=$(in_client dig +time=2 +tries=2 @"$VIP6" www.lab. AAAA 2>&1)
check "client -> $VIP6: NOERROR" grep -q 'status: NOERROR' <<<"$OUT"
failover "tunnel-kill" tunnel_kill

finish
