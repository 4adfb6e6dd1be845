#!/usr/bin/env bash
# Client ACL: allowed prefixes answer, a refuse rule answers REFUSED, a drop
# rule sends nothing, longest prefix wins, and a config reload (SIGHUP)
# applies a changed ACL.
#   tests/integration/test_acl.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require
# the client's extra addresses (CLIENT4_X1 .200, CLIENT4_X2 .201 and the v6
# ::200/::201) lie inside the allowed prefixes: the more specific rules win
lab_start \
  --vd-conf "acl = 192.0.2.200/32 refuse
acl = 192.0.2.201/32 drop
acl = 2001:db8:c::200/128 refuse
acl = 2001:db8:c::201/128 drop" \
  --ub-conf "access-control: 192.0.2.200/32 refuse
access-control: 192.0.2.201/32 deny
access-control: 2001:db8:c::200/128 refuse
access-control: 2001:db8:c::201/128 deny"

section "allowed clients"
q -b "$CLIENT4" www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
q @"$VIP6" -b "$CLIENT6" www.lab. AAAA
expect_rcode NOERROR
expect_answer 'AAAA[[:space:]]+2001:db8:80::80$'

section "refuse rule"
q -b "$CLIENT4_X1" www.lab. A
expect_rcode REFUSED
expect_no_answer_records
q -b "$CLIENT4_X1" nonexistent-refused.lab. A
expect_rcode REFUSED
q @"$VIP6" -b "$CLIENT6_X1" www.lab. AAAA
expect_rcode REFUSED
expect_no_answer_records
q -b "$CLIENT4_X1" www.lab. A +tcp
check "refused client over TCP gets no answer data" bash -c '! grep -q "203\.0\.113\.80" <<<"$1"' _ "$OUT"
refused_ede() {
  q -b "$CLIENT4_X1" www.lab. A
  expect_rcode REFUSED
  expect_output 'EDE: 18'
}
vd_only "REFUSED carries EDE 18 (Prohibited)" refused_ede

section "drop rule"
q -b "$CLIENT4_X2" www.lab. A +time=2
expect_timeout
q @"$VIP6" -b "$CLIENT6_X2" www.lab. AAAA +time=2
expect_timeout

section "allowed client unaffected afterwards"
q -b "$CLIENT4" www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'

section "reload applies a changed ACL (SIGHUP)"
conf=$NODE1_CONF
if [[ $RESOLVER == unbound ]]; then
  sed -i 's|^access-control: 192.0.2.200/32 refuse|access-control: 192.0.2.200/32 allow|' "$conf"
  echo "access-control: 192.0.2.10/32 refuse" >>"$conf"
else
  sed -i 's|^acl = 192.0.2.200/32 refuse|acl = 192.0.2.200/32 allow|' "$conf"
  echo "acl = 192.0.2.10/32 refuse" >>"$conf"
fi
pid=$(node_pid 1)
kill -HUP "$pid"
reloaded() { q -b "$CLIENT4" www.lab. A +time=1; [[ $(out_rcode) == REFUSED ]]; }
check "after SIGHUP the new refuse rule for $CLIENT4 is active (within 5 s)" wait_for 5 reloaded
q -b "$CLIENT4_X1" www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
check "same process after reload (pid $pid)" test "$(node_pid 1)" = "$pid"
check "process alive after reload" kill -0 "$pid"

finish
