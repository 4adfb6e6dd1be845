#!/usr/bin/env bash
# A resolution libunbound failed is answered SERVFAIL and never served, or
# cached, as a NOERROR answer (review defect 13: on failure libunbound hands
# the callback its receive buffer, the last upstream reply, untouched):
#  - the root's NS RRSIG broken seven ways (key tag, algorithm, labels,
#    original TTL, inception, expiration, signature bytes): `. NS +dnssec`
#    is SERVFAIL, and so is the same query again (no cached bogus RRset),
#    with qname minimisation on (node1) and off (node2);
#  - CNAME loops (a name aliased to itself, two names aliased to each other);
#  - RFC 8509 key sentinels: root-key-sentinel-not-ta-<root KSK tag> and
#    root-key-sentinel-is-ta-<another tag> are SERVFAIL (3.2), the other two
#    answer.
# One lab with two nodes serves every case; each case starts from a flushed
# resolver (vipdnsctl flush-all, or a restart under RESOLVER=unbound).
#   tests/integration/test_dnssec_failures.sh PATH_TO_VIPDNSD [PATH_TO_VIPDNSCTL]
source "$(dirname "$0")/lib.sh" "$@"
CTL=${2:-$(dirname "$VIPDNSD")/vipdnsctl}
require
if [[ $RESOLVER == vipdnsd && ! -x $CTL ]]; then
  echo "$TEST_NAME: vipdnsctl not found at '$CTL'"; exit 1
fi
lab_start --nodes 2

# node2 resolves without qname minimisation (RFC 9156), node1 with it (the
# default): every case is asked of both
section "node2: qname minimisation off"
if [[ $RESOLVER == unbound ]]; then
  printf 'server:\n  qname-minimisation: no\n' >>"$NODE2_CONF"
else
  echo "qname-minimisation = no" >>"$NODE2_CONF"
fi
"$LAB" resolver-stop 2 && "$LAB" resolver-start 2 2>"$WORK/restart.log"
check "node2 restarted with qname-minimisation off" node_alive 2
NODES=(1 2)
QMIN=([1]=on [2]=off)

# qn I dig-args: ask node I on its loopback (both nodes hold the same VIP,
# so the client cannot choose one); output in $OUT
qn() {
  local i=$1; shift
  OUT=$(in_node "$i" dig +time=5 +tries=1 @127.0.0.1 "$@" 2>&1)
  LAST_Q="node$i (qmin ${QMIN[$i]}): dig $*"
}

# every node forgets what it resolved, libunbound's own caches included
fresh() {
  local i v
  if [[ $RESOLVER == unbound ]]; then
    "$LAB" resolver-stop >/dev/null 2>&1
    "$LAB" resolver-start 2>"$WORK/restart.log" || fail "unbound restart" "$(cat "$WORK/restart.log")"
    return 0
  fi
  for i in "${NODES[@]}"; do
    v="NODE${i}_CTL"
    in_node "$i" "$CTL" -s "${!v}" flush-all >/dev/null 2>&1 || fail "node$i: vipdnsctl flush-all"
  done
}

# expect_servfail_twice I dig-args: a fresh failure, then the same query
# again: still SERVFAIL (a cached NOERROR would show up here), no data
expect_servfail_twice() {
  local i=$1; shift
  qn "$i" "$@"
  expect_rcode SERVFAIL
  expect_no_answer_records
  expect_noflag ad
  qn "$i" "$@"
  expect_rcode SERVFAIL
  expect_no_answer_records
}

# the lab's own zones, kept to build the altered ones from
cp "$VDLAB_DIR/zones/root.zone.signed" "$WORK/root.good"
cp "$VDLAB_DIR/zones/lab.zone" "$WORK/lab.zone"
cp "$VDLAB_DIR/zones/secure.example.zone" "$WORK/secure.example.zone"
# the trust anchor is the DS of the root KSK: ". TTL IN DS TAG ALG ..."
KSK_TAG=$(awk '$4 == "DS" {print $5; exit}' "$TRUST_ANCHOR")
[[ $KSK_TAG =~ ^[0-9]+$ ]] || { fail "root KSK key tag from $TRUST_ANCHOR"; finish; }
OTHER_TAG=$(( (KSK_TAG + 1) % 65536 ))
# RFC 8509 2: the key tag is written as five decimal digits
KSK5=$(printf %05d "$KSK_TAG") OTHER5=$(printf %05d "$OTHER_TAG")
info "root KSK key tag $KSK5 (not a trust anchor: $OTHER5)"

section "intact lab: the root NS RRset validates"
fresh
for i in "${NODES[@]}"; do
  qn "$i" . NS +dnssec
  expect_rcode NOERROR
  expect_flag ad
  expect_answer '^\.[[:space:]].*NS[[:space:]]+a\.root\.lab\.$'
done

section "CNAME loops"
# self.loop is its own alias; a.loop and b.loop alias each other.  NSD
# serves each loop in one reply, whose question is the client's.
{
  cat "$WORK/lab.zone"
  echo "self.loop  CNAME self.loop.lab."
  echo "a.loop     CNAME b.loop.lab."
  echo "b.loop     CNAME a.loop.lab."
} >"$WORK/lab-loops.zone"
if ! "$LAB" auth-zone lab "$WORK/lab-loops.zone" 2>"$WORK/auth.log"; then
  fail "lab. zone with CNAME loops served" "$(cat "$WORK/auth.log")"
fi
fresh
for i in "${NODES[@]}"; do
  expect_servfail_twice "$i" self.loop.lab. A
  expect_servfail_twice "$i" a.loop.lab. A
done

section "RFC 8509 key sentinels (root KSK $KSK5)"
# the names exist (signed A records in secure.example.), so only the
# sentinel rule can make them fail
{
  cat "$WORK/secure.example.zone"
  for t in "is-ta-$KSK5" "not-ta-$KSK5" "is-ta-$OTHER5" "not-ta-$OTHER5"; do
    echo "root-key-sentinel-$t  A  203.0.113.87"
  done
} >"$WORK/secure-sentinel.zone"
if ! "$LAB" auth-zone secure "$WORK/secure-sentinel.zone" --sign 2>"$WORK/auth.log"; then
  fail "secure.example. zone with sentinel names signed and served" "$(cat "$WORK/auth.log")"
fi
fresh
for i in "${NODES[@]}"; do
  # 3.2: the key is a trust anchor, so "not-ta" fails and "is-ta" answers
  expect_servfail_twice "$i" "root-key-sentinel-not-ta-$KSK5.secure.example." A
  qn "$i" "root-key-sentinel-is-ta-$KSK5.secure.example." A +dnssec
  expect_rcode NOERROR
  expect_flag ad
  expect_answer 'A[[:space:]]+203\.0\.113\.87$'
  # ...and for a key that is not one, the other way round
  expect_servfail_twice "$i" "root-key-sentinel-is-ta-$OTHER5.secure.example." A
  qn "$i" "root-key-sentinel-not-ta-$OTHER5.secure.example." A +dnssec
  expect_rcode NOERROR
  expect_flag ad
  expect_answer 'A[[:space:]]+203\.0\.113\.87$'
done

# alter_rrsig IN OUT OWNER TYPE HOW: rewrite one field of OWNER's RRSIG
# covering TYPE in a signed zone file (ldns-signzone's one-line records:
# owner ttl class RRSIG covered alg labels orig-ttl expiration inception
# keytag signer signature); any of these makes the RRset bogus
alter_rrsig() {
  "$PYTHON" - "$@" <<'PY'
import sys, time
src, dst, owner, rtype, how = sys.argv[1:6]
def when(delta):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + delta))
b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
out, n = [], 0
for line in open(src).read().split("\n"):
    f = line.split()
    if len(f) > 12 and f[0].lower() == owner.lower() and f[3] == "RRSIG" and f[4] == rtype:
        n += 1
        if how == "key-tag":
            f[10] = str((int(f[10]) + 1) % 65536)    # no such DNSKEY
        elif how == "algorithm":
            f[5] = "8"                               # RSASHA256: no such key
        elif how == "labels":
            f[6] = str(int(f[6]) + 1)                # more labels than the owner
        elif how == "original-ttl":
            f[7] = str(int(f[7]) + 1)                # not what was signed
        elif how == "inception":
            f[9] = when(+86400)                      # valid only from tomorrow
        elif how == "expiration":
            f[8] = when(-3600)                       # expired an hour ago
        elif how == "signature":
            # same length, still base64: NSD serves it, validators reject it
            s = list("".join(f[12:]))
            for i in (4, 5, 6, 7, 20, 21):
                s[i] = b64[(b64.index(s[i]) + 17) % 64]
            f[12:] = ["".join(s)]
        else:
            sys.exit("unknown alteration " + how)
        line = "\t".join(f)
    out.append(line)
if n != 1:
    sys.exit("expected one RRSIG %s for %s, found %d" % (rtype, owner, n))
open(dst, "w").write("\n".join(out))
PY
}

# the RRSIG over the root NS RRset as the root server sends it
root_ns_rrsig() {
  in_node 1 dig +time=2 +tries=2 +norecurse +dnssec +short @"$AUTH_ROOT4" . NS 2>/dev/null | grep -v '^a\.root\.lab\.$'
}
GOOD_RRSIG=$(root_ns_rrsig)

for how in key-tag algorithm labels original-ttl inception expiration signature; do
  section "root NS RRSIG: bad $how"
  OUT=""
  if ! alter_rrsig "$WORK/root.good" "$WORK/root.$how" . NS "$how" 2>"$WORK/alter.log" ||
     ! "$LAB" auth-zone root "$WORK/root.$how" 2>"$WORK/auth.log"; then
    fail "root zone with bad $how served" "$(cat "$WORK/alter.log" "$WORK/auth.log")"
    continue
  fi
  rrsig=$(root_ns_rrsig)
  check "root server sends the altered RRSIG ($rrsig)" test -n "$rrsig" -a "$rrsig" != "$GOOD_RRSIG"
  fresh
  for i in "${NODES[@]}"; do
    expect_servfail_twice "$i" . NS +dnssec
  done
done

section "intact root again: the failures came from the RRSIGs"
OUT=""
"$LAB" auth-zone root "$WORK/root.good" 2>"$WORK/auth.log" || fail "intact root zone served again" "$(cat "$WORK/auth.log")"
fresh
for i in "${NODES[@]}"; do
  qn "$i" . NS +dnssec
  expect_rcode NOERROR
  expect_flag ad
done

finish
