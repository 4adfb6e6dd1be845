#!/usr/bin/env bash
# Serve-stale (RFC 8767): with the authorities down, an expired answer is
# still served, with TTL stale-answer-ttl and EDE 3 (Stale Answer); a name
# never cached gets SERVFAIL; after the authorities return, fresh answers
# come back without EDE once stale-refresh-time (RFC 8767's failure recheck
# timer) has run out after the last failed refresh.  With serve-stale = no (applied by SIGHUP) the same
# situation gives SERVFAIL.
#   tests/integration/test_stale.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require
lab_start \
  --vd-conf "serve-stale = yes
stale-answer-ttl = 30
stale-max-age = 3600
stale-client-timeout = 1800
stale-refresh-time = 5" \
  --ub-conf "serve-expired: yes
serve-expired-ttl: 3600
serve-expired-reply-ttl: 30
serve-expired-client-timeout: 1800
ede-serve-expired: yes"

section "fresh answer (short.lab. has TTL 3)"
q short.lab. A
expect_rcode NOERROR
expect_answer '^short\.lab\.[[:space:]]+[0-3][[:space:]]+IN[[:space:]]+A[[:space:]]+203\.0\.113\.83$'
expect_no_output 'EDE'

section "authorities down, answer expired"
"$LAB" auth-stop
check "auth servers stopped" bash -c '! ip netns exec "$1" dig +time=1 +tries=1 @198.51.100.3 lab. SOA >/dev/null 2>&1' _ "$NS_AUTH"
sleep 4
q short.lab. A +time=8
expect_rcode NOERROR
expect_answer '^short\.lab\.[[:space:]]+30[[:space:]]+IN[[:space:]]+A[[:space:]]+203\.0\.113\.83$'
expect_output 'EDE: 3 \(Stale Answer\)'
expect_noflag ad
# the refresh above was too slow, so for stale-refresh-time the name is
# answered stale at once instead of after stale-client-timeout (1.8 s)
at_once() {
  q short.lab. A +time=8
  expect_output 'EDE: 3 \(Stale Answer\)'
  local ms; ms=$(sed -n 's/^;; Query time: \([0-9]*\) msec/\1/p' <<<"$OUT")
  check "answered within 1 s during stale-refresh-time (took ${ms:-?} ms)" test "${ms:-9999}" -lt 1000
}
vd_only "stale at once during stale-refresh-time" at_once

section "never-cached name while the authorities are down"
# vipdnsd answers SERVFAIL after recursion-timeout (10 s); unbound has no such
# bound and keeps backing off, so it is not checked there
never_cached() {
  q mail.lab. A +time=15
  expect_rcode SERVFAIL
  expect_no_answer_records
}
vd_only "never-cached name -> SERVFAIL within 15 s" never_cached

section "authorities back: fresh answers again"
"$LAB" auth-start
# The last failed refresh ended by recursion-timeout (10 s) after the query
# above; stale-refresh-time (5 s) later a query asks the authorities again.
# (unbound's infra cache keeps the restarted servers marked down for longer
# than this test waits, so the rest is vipdnsd-only)
back_fresh() {
  fresh() { q short.lab. A +time=3; [[ $(out_rcode) == NOERROR ]] && ! grep -q 'EDE' <<<"$OUT" && [[ $(out_ttl A) -le 3 ]]; }
  check "short.lab. answered fresh (TTL <= 3, no EDE) within 20 s" wait_for 20 fresh
  # mail.lab.'s SERVFAIL from above is cached for servfail-ttl (5 s, RFC 9520)
  mail_ok() { q mail.lab. A; [[ $(out_rcode) == NOERROR ]]; }
  check "mail.lab. resolves once the cached SERVFAIL expires (within 10 s)" wait_for 10 mail_ok
  expect_answer 'A[[:space:]]+203\.0\.113\.84$'
}
vd_only "fresh answers after the authorities return" back_fresh

section "serve-stale = no (applied with SIGHUP)"
stale_off() {
  sed -i 's/^serve-stale = yes/serve-stale = no/' "$NODE1_CONF"
  local pid; pid=$(node_pid 1)
  kill -HUP "$pid"
  sleep 0.5
  check "resolver alive after SIGHUP" kill -0 "$pid"
  q short.lab. A
  expect_rcode NOERROR
  expect_answer 'A[[:space:]]+203\.0\.113\.83$'
  "$LAB" auth-stop
  sleep 4
  q short.lab. A +time=15
  expect_rcode SERVFAIL
  expect_no_output 'EDE: 3'
  "$LAB" auth-start
}
vd_only "serve-stale = no after reload" stale_off

finish
