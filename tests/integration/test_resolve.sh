#!/usr/bin/env bash
# Resolution through the VIP: A/AAAA/CNAME/NXDOMAIN/NODATA, DNSSEC (AD, bogus,
# CD), TC and TCP fallback, EDNS (BADVERS, small buffers), cached TTLs
# decreasing, 0x20 case echo, NSID, dead authorities.
#   tests/integration/test_resolve.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require
lab_start

section "answers"
q www.lab. A
expect_rcode NOERROR
expect_flag qr; expect_flag rd; expect_flag ra; expect_noflag aa
expect_answer '^www\.lab\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+203\.0\.113\.80$'
expect_answer_count 1

q @"$VIP6" www.lab. AAAA
expect_rcode NOERROR
expect_answer 'AAAA[[:space:]]+2001:db8:80::80$'

q alias.lab. A
expect_rcode NOERROR
expect_answer '^alias\.lab\..*CNAME[[:space:]]+alias2\.lab\.$'
expect_answer '^alias2\.lab\..*CNAME[[:space:]]+www\.lab\.$'
expect_answer '^www\.lab\..*A[[:space:]]+203\.0\.113\.80$'
expect_answer_count 3

q nonexistent.lab. A
expect_rcode NXDOMAIN
expect_no_answer_records
expect_authority '^lab\..*SOA'

q v4only.lab. AAAA
expect_rcode NOERROR
expect_no_answer_records
expect_authority '^lab\..*SOA'

q mx.lab. MX
expect_rcode NOERROR
expect_answer 'MX[[:space:]]+10 mail\.lab\.$'

q www.sub.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.86$'

section "DNSSEC"
q www.secure.example. A +dnssec
expect_rcode NOERROR
expect_flag ad
expect_answer 'A[[:space:]]+203\.0\.113\.81$'
expect_answer 'RRSIG[[:space:]]+A 13 '

q www.secure.example. AAAA +adflag +nodnssec
expect_rcode NOERROR
expect_flag ad
expect_answer 'AAAA[[:space:]]+2001:db8:80::81$'
expect_no_output 'RRSIG'

q www.secure.example. A +noadflag +nodnssec
expect_rcode NOERROR
expect_noflag ad        # RFC 6840 5.8: AD only when the query had DO or AD

q nonexistent.secure.example. A +dnssec
expect_rcode NXDOMAIN
expect_flag ad

q www.lab. A +dnssec
expect_rcode NOERROR
expect_noflag ad        # lab. is insecure (no DS in the root)

q www.bogus.example. A +dnssec
expect_rcode SERVFAIL
expect_noflag ad
expect_no_answer_records

q www.bogus.example. A +cd +dnssec
expect_rcode NOERROR
expect_flag cd
expect_noflag ad
expect_answer 'A[[:space:]]+203\.0\.113\.82$'

q www.bogus.example. A
expect_rcode SERVFAIL   # CD=1 answer must not leak into CD=0 queries

section "TC and TCP"
q big.lab. TXT +ignore +notcp
expect_rcode NOERROR
expect_flag tc
check "truncated UDP answer carries no partial RRset" bash -c '[[ $(awk "/ANSWER:/{print}" <<<"$1") == *"ANSWER: 0"* ]]' _ "$OUT"

q big.lab. TXT
expect_output 'Truncated, retrying in TCP mode'
expect_rcode NOERROR
expect_noflag tc
expect_answer 'big-10-x+'

q big.lab. TXT +tcp
expect_rcode NOERROR
expect_answer '"big-01-x+".*"big-10-x+"'
check "TCP answer larger than 1232 bytes" bash -c '[[ $(sed -n "s/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p" <<<"$1") -gt 1232 ]]' _ "$OUT"

q @"$VIP6" www.lab. AAAA +tcp
expect_rcode NOERROR
expect_answer 'AAAA[[:space:]]+2001:db8:80::80$'

section "EDNS"
q www.lab. A +edns=1 +noednsnegotiation
expect_rcode BADVERS
expect_output 'EDNS: version: 0'
expect_no_answer_records

q big.lab. TXT +bufsize=512 +ignore +notcp
expect_flag tc
q www.lab. A +bufsize=512
expect_rcode NOERROR
expect_noflag tc
expect_output 'EDNS: version: 0, flags:; udp: '

q big.lab. TXT +noedns +ignore +notcp
expect_flag tc
expect_no_output 'OPT PSEUDOSECTION'

section "cache: TTLs decrease"
q www.lab. A
t1=$(out_ttl A)
info "first TTL: ${t1:-?}"
sleep 2.2
q www.lab. A
t2=$(out_ttl A)
info "second TTL (2.2 s later): ${t2:-?}"
check "cached TTL decreased (t1=${t1:-?} > t2=${t2:-?})" bash -c '[[ -n $1 && -n $2 ]] && (( $1 <= 300 && $2 < $1 && $2 >= $1 - 4 ))' _ "$t1" "$t2"

section "0x20: question case echoed"
# uncached first, then again from the cache; the reply's question must be
# the query's bytes exactly (DESIGN principle 2)
for name in WwW.LaB. mAiL.lAb. WWW.SECURE.EXAMPLE.; do
  for round in first again; do
    OUT=$(in_client "$PYTHON" "$DNSWIRE" echo-case "$VIP4" "$name" A 2>&1); rc=$?
    LAST_Q="dnswire echo-case $VIP4 $name A"
    printf '%s\n' "$OUT" | sed 's/^/    /'
    check "question '$name' echoed byte for byte ($round)" test "$rc" -eq 0
  done
done
OUT=$(in_client "$PYTHON" "$DNSWIRE" echo-case "$VIP6" "wWw.LaB." AAAA 2>&1); rc=$?
LAST_Q="dnswire echo-case $VIP6 wWw.LaB. AAAA"
check "question 'wWw.LaB.' AAAA echoed over IPv6" test "$rc" -eq 0

section "NSID"
q www.lab. A +nsid
expect_rcode NOERROR
expect_output 'NSID: .*\("node1"\)'
q www.lab. A
expect_no_output 'NSID'

section "dead authorities"
start=$SECONDS
OUT=$(in_client dig +time=30 +tries=1 @"$VIP4" www.dead.example. A 2>&1)
LAST_Q="dig www.dead.example. A (+time=30)"
expect_rcode SERVFAIL
info "answered after $((SECONDS - start)) s"
q www.lab. A
expect_rcode NOERROR
check "resolver process still running" node_alive 1

finish
