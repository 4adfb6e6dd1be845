#!/usr/bin/env bash
# The zones and answer policy an operator configures (issue 11), against
# the lab's real authorities: forward-zone to a VPC's private zone,
# stub-zone to an internal authoritative server, domain-insecure for both
# (the signed root denies internal.), local-zone nodefault reaching the
# lab's test. TLD, local zones and data, private-address rebinding
# protection with a private-domain exception, DNS64; a reload that
# changes them takes the affected cached answers away at once; bad lines
# are named before they are used.
#   tests/integration/test_zones.sh PATH_TO_VIPDNSD [PATH_TO_VIPDNSCTL]
source "$(dirname "$0")/lib.sh" "$@"
CTL=${2:-$(dirname "$VIPDNSD")/vipdnsctl}
require
if [[ $RESOLVER != vipdnsd ]]; then
  echo "$TEST_NAME: vipdnsd-only scenario"
  exit 77
fi
[[ -x $CTL ]] || { echo "$TEST_NAME: vipdnsctl not found at '$CTL'"; exit 1; }

lab_start --vd-conf 'forward-zone = vpc.internal. 198.51.100.9
stub-zone = corp.internal. 198.51.100.8
domain-insecure = vpc.internal.
domain-insecure = corp.internal.
local-zone = test. nodefault
local-zone = lan. static
local-data = "printer.lan. 600 A 192.0.2.50"
local-data = "printer.lan. TXT \"floor 2\""
local-data-ptr = "192.0.2.50 printer.lan."
local-zone = mx.lab. always_nxdomain
local-zone = mail.lab. refuse
private-address = 10.0.0.0/8
private-domain = corp.internal.
dns64-prefix = 64:ff9b::/96'

SOCK=$VDLAB_DIR/node1/control.sock
CONF=$NODE1_CONF

section "test. reached through the root once its default local zone is gone"
q www.test. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.87$'

section "forward-zone and stub-zone for zones the public tree lacks"
q db.vpc.internal. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.89$'
q www.corp.internal. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.88$'
q nope.corp.internal. A
expect_rcode NXDOMAIN

section "local zones and data"
q printer.lan. A
expect_rcode NOERROR
expect_answer 'printer\.lan\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.50$'
q printer.lan. TXT
expect_answer 'TXT[[:space:]]+"floor 2"$'
q -x 192.0.2.50
expect_answer 'PTR[[:space:]]+printer\.lan\.$'
q nope.lan. A
expect_rcode NXDOMAIN
q mx.lab. MX
expect_rcode NXDOMAIN
q mail.lab. A
expect_rcode REFUSED
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'

section "private-address: no private address in a public answer"
q rebind.lab. A
check "rebind.lab. answered without 10.9.8.7" \
  bash -c 'got=$1; grep -q "status: NOERROR" <<<"$got" && ! grep -q "10\.9\.8\.7" <<<"$got"' _ "$OUT"
q intranet.corp.internal. A
expect_answer 'A[[:space:]]+10\.20\.30\.40$'

section "DNS64"
q v4only.lab. AAAA
expect_rcode NOERROR
expect_answer 'AAAA[[:space:]]+64:ff9b::cb00:7155$'
q www.lab. AAAA
expect_answer 'AAAA[[:space:]]+2001:db8:80::80$'
check "a native AAAA is not replaced" bash -c '! grep -q "64:ff9b" <<<"$1"' _ "$OUT"

section "a reload that changes zones flushes what they answered"
# All three are cached now (TTLs 300-600 s): without the flush the old
# answers would be served for minutes after the reload.
q printer.lan. A
expect_answer '192\.0\.2\.50$'
sed -i 's|^local-data = "printer.lan. 600 A 192.0.2.50"|local-data = "printer.lan. 600 A 192.0.2.51"|
/^local-zone = test. nodefault$/d
/^domain-insecure = corp.internal.$/d' "$CONF"
OUT=$(in_node 1 "$CTL" -s "$SOCK" reload 2>&1)
check "vipdnsctl reload accepted the changed zones" grep -q '^reloaded' <<<"$OUT"
q printer.lan. A
expect_answer 'A[[:space:]]+192\.0\.2\.51$'
check "the old local-data answer is gone" bash -c '! grep -q "192\.0\.2\.50$" <<<"$1"' _ "$OUT"
q www.test. A
expect_rcode NXDOMAIN
# without domain-insecure the root's signed denial of internal. makes the
# stub zone's unsigned answer bogus
q www.corp.internal. A
expect_rcode SERVFAIL
q db.vpc.internal. A
expect_answer 'A[[:space:]]+203\.0\.113\.89$'
check "the reload logged the flush" grep -q 'zones or answer policy changed; [1-9][0-9]* cached answers flushed' \
  "$VDLAB_DIR/node1/resolver.log"

section "bad lines are named before they are used"
bad=$WORK/bad.conf
cp "$CONF" "$bad"
echo 'local-data = "srv.lan. SRV 0 5 not-a-port x.lan."' >>"$bad"
OUT=$("$VIPDNSD" -c "$bad" -t 2>&1); rc=$?
check "-t refuses record data libunbound cannot parse (rc $rc)" test "$rc" -ne 0
check "-t names the line" grep -q 'local-data "srv.lan. SRV 0 5 not-a-port x.lan."' <<<"$OUT"
cp "$CONF" "$bad"
echo 'forward-zone = corp. ns.corp.example.' >>"$bad"
n=$(wc -l <"$bad")
OUT=$("$VIPDNSD" -c "$bad" -t 2>&1); rc=$?
check "-t refuses a forward-zone naming a host (rc $rc)" test "$rc" -ne 0
check "-t gives file:line" grep -q "$bad:$n: forward-zone:" <<<"$OUT"
# the running node keeps its config when a reload would break it
cp "$CONF" "$WORK/good.conf"
echo 'local-data = "srv.lan. SRV 0 5 not-a-port x.lan."' >>"$CONF"
OUT=$(in_node 1 "$CTL" -s "$SOCK" reload 2>&1)
check "reload with a bad record is refused" grep -q 'reload failed' <<<"$OUT"
cp "$WORK/good.conf" "$CONF"
q printer.lan. A
expect_answer 'A[[:space:]]+192\.0\.2\.51$'

finish
