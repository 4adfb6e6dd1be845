#!/usr/bin/env bash
# Control channel and cluster-wide flush on a 3-node lab:
#  - vipdnsctl --cluster flush reaches every node over mutual TLS and the
#    next answer changes on every node;
#  - an unreachable node makes the command fail, naming the node;
#  - a client certificate from another CA and a node whose certificate
#    does not carry the expected name are refused;
#  - the server takes over TLS only what the cluster channel allows (a
#    peer's own TLS client sending drain, bird or dump-cache gets ERR), only
#    from certificates naming one of its cluster-peers, and logs every
#    cluster command with the peer's name;
#  - unauthenticated TLS connections (200 silent ones from one address,
#    reopened as they close) lock out neither local vipdnsctl nor a cluster
#    peer from another address, and a silent one is cut at the handshake
#    timeout;
#  - the control socket refuses a client without permission (file mode,
#    and peer credentials when the mode lets anybody connect);
#  - malformed control messages get an error and serving goes on;
#  - the .io incident replayed: a wrongly denied name cached on every node
#    is repaired everywhere within 1 s by --cluster flush-negative;
#  - the Slack incident replayed: a zone gone unsigned under a DS answers
#    SERVFAIL until --cluster nta add reaches every node (within 1 s),
#    and again when the anchor expires;
#  - DNS over TLS: kdig and dig +tls answered, padding to 468-byte blocks,
#    a session ticket from one node resumes on another with the same
#    tls-session-ticket-keys (not on one without), a garbage handshake
#    costs only its connection, a renewed certificate is served after
#    reload;
#  - DNS cookies (RFC 9018) made on one node validate on every node with
#    the same secret; one node rolling alone makes BADCOOKIE and drift;
#    --cluster cookie-secret add/activate/drop rolls the fleet together
#    (the old secret accepted until drop); cookies are never cached;
#  - --cluster status flags a node whose answer policy differs;
#  - a node starting without a snapshot warms its cache from a healthy peer
#    (cache-warm-entries) before it answers.
#   tests/integration/test_cluster.sh PATH_TO_VIPDNSD [PATH_TO_VIPDNSCTL]
source "$(dirname "$0")/lib.sh" "$@"
CTL=${2:-$(dirname "$VIPDNSD")/vipdnsctl}
require openssl setpriv
[[ $RESOLVER == vipdnsd ]] || { echo "$TEST_NAME: vipdnsd only"; exit 77; }
[[ -x $CTL ]] || { echo "$TEST_NAME: vipdnsctl not found at '$CTL'"; exit 1; }
NODES=3
PORT=8953

section "certificates (a cluster CA, one per node, an operator, a stranger)"
C=$WORK/certs; mkdir -p "$C"
mkcert() {   # mkcert NAME CA_BASENAME  -> $C/NAME.{key,pem}
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$C/$1.key" -subj "/CN=$1" -out "$C/$1.csr" 2>/dev/null &&
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$1" >"$C/$1.ext" &&
  openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" \
    -CAcreateserial -days 2 -extfile "$C/$1.ext" -out "$C/$1.pem" 2>/dev/null
}
mkca() {
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$C/$1.key" -subj "/CN=$1" -days 2 -out "$C/$1.pem" 2>/dev/null
}
ok=1
mkca ca && mkca rogue-ca || ok=0
for n in node1 node2 node3 ops; do mkcert "$n" ca || ok=0; done
mkcert intruder rogue-ca || ok=0
check "certificates generated" test $ok = 1
for i in 1 2 3; do cp "$C/node$i.pem" "$C/dot$i.pem"; cp "$C/node$i.key" "$C/dot$i.key"; done
head -c 80 /dev/urandom >"$C/ticket-a"; head -c 80 /dev/urandom >"$C/ticket-b"
chmod 0644 "$C"/*.key   # the daemons read them as root; tidy enough for a test

lab_start --nodes "$NODES" --no-resolver
peers=""
for ((i = 1; i <= NODES; i++)); do dn=NODE${i}_DN4; peers+="cluster-peer = node$i=${!dn}@$PORT"$'\n'; done
for ((i = 1; i <= NODES; i++)); do
  conf=NODE${i}_CONF dn=NODE${i}_DN4
  {
    # the nodes that may command this one (their certificates' names)
    printf '%s' "$peers"
    echo "cluster-listen = ${!dn}@$PORT"
    echo "cluster-cert = $C/node$i.pem"
    echo "cluster-key = $C/node$i.key"
    echo "cluster-ca = $C/ca.pem"
    # DNS over TLS on port 853 of the node's address; nodes 1 and 2 share
    # a session ticket key, node3 has its own
    echo "listen = ${!dn}@853"
    echo "tls-service-key = $C/dot$i.key"
    echo "tls-service-pem = $C/dot$i.pem"
    if [[ $i == 3 ]]; then echo "tls-session-ticket-keys = $C/ticket-b"
    else echo "tls-session-ticket-keys = $C/ticket-a"; fi
    # node2's socket lets anybody connect: peer credentials must refuse
    [[ $i == 2 ]] && echo "control-socket-mode = 0666"
  } >>"${!conf}"
done
# one cookie secret for the fleet, provisioned as an operator would
secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
for ((i = 1; i <= NODES; i++)); do
  printf '%s\n' "$secret" >"$VDLAB_DIR/node$i/cookie-secrets"; chmod 0600 "$VDLAB_DIR/node$i/cookie-secrets"
done
if "$LAB" resolver-start 2>"$WORK/start.log"; then pass "3 nodes started with cluster-listen"
else fail "3 nodes started" "$(tail -n 20 "$WORK/start.log")"; finish; fi
sock() { echo "$VDLAB_DIR/node$1/control.sock"; }
dn1=NODE1_DN4

# the operator's view: every node, over TLS, from the client namespace,
# with node1's identity (as vipdnsctl --cluster run on node1 would be)
cat >"$WORK/ops.conf" <<CONF
control-socket = ""
${peers}cluster-cert = $C/node1.pem
cluster-key = $C/node1.key
cluster-ca = $C/ca.pem
CONF

node_dig() { in_node "$1" dig +time=2 +tries=1 +short @127.0.0.1 "${@:2}" 2>&1; }

section "local control socket"
out=$("$CTL" -s "$(sock 1)" status 2>&1); rc=$?
check "vipdnsctl status exits 0" test $rc = 0
check "status names the node" grep -q '^node-id: node1$' <<<"$out"
out=$("$CTL" -s "$(sock 1)" health 2>&1)
check "health reports workers and listeners" grep -q '^workers: 1 of 1 running' <<<"$out"
out=$("$CTL" -s "$(sock 1)" drain 2>&1); rc=$?
check "drain without anycast: exit 1, clear message" \
  bash -c '[[ $1 == 1 && $2 == *"not available: anycast not configured"* ]]' _ "$rc" "$out"
"$CTL" -s "$(sock 1)" flush 2>/dev/null; rc=$?
check "bad arguments exit 2" test $rc = 2
"$CTL" -s "$WORK/no-such.sock" status 2>/dev/null; rc=$?
check "unreachable daemon exits 3" test $rc = 3

section "cluster flush changes the next answer on every node"
for ((i = 1; i <= NODES; i++)); do
  a=$(node_dig "$i" v4only.lab. A)
  check "node$i caches v4only.lab. = 203.0.113.85" test "$a" = 203.0.113.85
done
# the authority changes its data; the caches still hold the old answer
sed -i 's/^v4only   A     203.0.113.85$/v4only   A     203.0.113.185/' "$VDLAB_DIR/zones/lab.zone"
"$LAB" auth-stop 2>/dev/null; "$LAB" auth-start 2>/dev/null
check "authority now serves 203.0.113.185" bash -c \
  '[[ $(ip netns exec "$1" dig +short +norecurse @198.51.100.3 v4only.lab. A) == 203.0.113.185 ]]' _ "$NS_AUTH"
check "node1 still answers the cached 203.0.113.85" test "$(node_dig 1 v4only.lab. A)" = 203.0.113.85
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster flush v4only.lab. 2>&1); rc=$?
check "vipdnsctl --cluster flush exits 0" test $rc = 0
for ((i = 1; i <= NODES; i++)); do
  check "node$i reported ok" grep -q "^node$i (.*): ok$" <<<"$out"
  a=$(node_dig "$i" v4only.lab. A)
  check "node$i now answers 203.0.113.185" test "$a" = 203.0.113.185
done
[[ $N_FAIL == 0 ]] || info "$out"
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster dump-cache 2>&1); rc=$?
check "local-only commands refused with --cluster (exit 2)" test $rc = 2

section "TLS authentication"
sed -e "s|/node1.pem|/intruder.pem|; s|/node1.key|/intruder.key|" "$WORK/ops.conf" >"$WORK/intruder.conf"
out=$(in_client "$CTL" -c "$WORK/intruder.conf" --cluster flush-all 2>&1); rc=$?
check "client certificate from another CA: command fails" test $rc != 0
check "... and no node reports ok" bash -c '! grep -q ": ok$" <<<"$1"' _ "$out"
sed -e "/^cluster-peer/d" "$WORK/ops.conf" >"$WORK/wrongname.conf"
echo "cluster-peer = node2=${!dn1}@$PORT" >>"$WORK/wrongname.conf"
out=$(in_client "$CTL" -c "$WORK/wrongname.conf" --cluster status 2>&1); rc=$?
check "node answering with another node's certificate: refused (exit 3)" test $rc = 3
check "... the reason names the certificate" grep -qi "certificate" <<<"$out"

section "the server enforces the cluster channel's allow-list"
# A peer's own TLS client (a stolen node key), not vipdnsctl: whatever it
# sends, the server decides.  tls_req CERT COMMAND -> first answer line
tls_req() {
  in_client $PYTHON - "$C" "$1" "${!dn1}" "$PORT" "$2" <<'PY'
import socket, ssl, sys
d, who, addr, port, cmd = sys.argv[1:6]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_cert_chain(f"{d}/{who}.pem", f"{d}/{who}.key")
ctx.load_verify_locations(f"{d}/ca.pem")
buf = b""
try:
    s = ctx.wrap_socket(socket.create_connection((addr, int(port)), 5),
                        server_hostname="node1")
    s.settimeout(5)
    s.sendall(cmd.encode() + b"\n")
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
except (OSError, ssl.SSLError) as e:
    if not buf:
        buf = ("<%s>" % e).encode()
print(buf.decode("ascii", "replace").splitlines()[0] if buf else "<eof>")
PY
}
for cmd in dump-cache drain undrain bird; do
  ans=$(tls_req node2 "$cmd")
  check "node2's key sends '$cmd' over TLS -> ERR, local only ($ans)" \
    bash -c '[[ $1 == "ERR "*"cluster channel"* ]]' _ "$ans"
done
check "node1 logged the refusal with the peer's name" \
  grep -q "cluster tls:node2@.*: dump-cache: refused, local only" "$NODE1_LOG"
ans=$(tls_req node2 "flush-all")
check "node2's key sends 'flush-all' over TLS -> OK ($ans)" bash -c '[[ $1 == "OK "* ]]' _ "$ans"
check "node1 logged the cluster command with the peer's name" \
  grep -q "cluster tls:node2@.*: flush-all$" "$NODE1_LOG"
check "node1 logged the operator's flush (as node1)" \
  grep -q "cluster tls:node1@.*: flush v4only.lab.$" "$NODE1_LOG"
ans=$(tls_req ops "status")
check "a CA-signed certificate naming no cluster-peer ('ops'): refused ($ans)" \
  bash -c '[[ $1 == "ERR "*"permission denied"* ]]' _ "$ans"
check "node1 logged that refusal with the certificate's name" \
  grep -q 'certificate "ops" names no cluster-peer' "$NODE1_LOG"

section "silent TLS connections lock out neither local nor cluster control"
TCPC=$(dirname "$0")/tcp_clients.py
out=$(in_client $PYTHON "$TCPC" silent-one "${!dn1}" "$PORT" "$CLIENT4_X2")
closed=$(sed -n 's/closed_after=//p' <<<"$out")
check "a connection that never starts its handshake is closed within 4 s (closed after ${closed:-?} s)" \
  bash -c '[[ $1 != never && -n $1 ]] && awk -v t="$1" "BEGIN{exit !(t < 4)}"' _ "$closed"
ready=$WORK/silent.ready
in_client $PYTHON "$TCPC" silent "${!dn1}" "$PORT" "$CLIENT4_X1" 200 20 "$ready" >"$WORK/silent.out" 2>&1 &
silent_pid=$!
EXTRA_PIDS+=("$silent_pid")
check "200 silent connections from $CLIENT4_X1 dialled (within 15 s)" wait_for 15 test -s "$ready"
info "flood: $(cat "$ready" 2>/dev/null)"
ok_local=0
for try in 1 2 3; do
  out=$("$CTL" -s "$(sock 1)" status 2>&1) && grep -q '^node-id: node1$' <<<"$out" && ok_local=$((ok_local + 1))
  sleep 1
done
check "local vipdnsctl status works during the flood (3 of 3 over 3 s)" test $ok_local = 3
out=$(in_client "$CTL" -c "$WORK/ops.conf" -t 5 --cluster status 2>&1); rc=$?
check "vipdnsctl --cluster status from another address works during the flood" \
  bash -c '[[ $1 == 0 ]] && grep -q "^node1 (.*): ok$" <<<"$2"' _ "$rc" "$out"
[[ $rc == 0 ]] || info "$out"
check "node1 logged the per-source refusal" \
  grep -q "cluster tls:$CLIENT4_X1@.*too many TLS control connections from this address" "$NODE1_LOG"
kill "$silent_pid" 2>/dev/null; wait "$silent_pid" 2>/dev/null

section "an unreachable node fails the command and is named"
"$LAB" resolver-stop 3 2>/dev/null
out=$(in_client "$CTL" -c "$WORK/ops.conf" -t 3 --cluster flush-all 2>"$WORK/err"); rc=$?
err=$(cat "$WORK/err")
check "exit status 3" test $rc = 3
check "stderr names node3" grep -q "node3" <<<"$err"
check "stderr does not blame node1" bash -c '! grep -q "node1" <<<"$1"' _ "$err"
check "node1 and node2 still flushed" bash -c \
  'grep -q "^node1 (.*): ok$" <<<"$1" && grep -q "^node2 (.*): ok$" <<<"$1"' _ "$out"
info "stderr: $err"
"$LAB" resolver-start 3 2>/dev/null || fail "node3 restarted"

section "control socket refuses clients without permission"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
out=$(nobody "$CTL" -s "$(sock 1)" flush-all 2>&1); rc=$?
check "mode 0660: nobody cannot connect (exit 3, permission denied)" \
  bash -c '[[ $1 == 3 && $2 == *"Permission denied"* ]]' _ "$rc" "$out"
out=$(nobody "$CTL" -s "$(sock 2)" flush-all 2>&1); rc=$?
check "mode 0666: the daemon checks peer credentials (exit 1)" \
  bash -c '[[ $1 == 1 && $2 == *"permission denied"* ]]' _ "$rc" "$out"
check "node2 logged the refusal" grep -q "permission denied" "$VDLAB_DIR/node2/resolver.log"

section "malformed control messages get an error; serving goes on"
raw() {  # raw SOCKET PYTHON-BYTES-LITERAL -> the daemon's answer (or EOF)
  $PYTHON - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(8)
s.connect(sys.argv[1])
s.sendall(eval(sys.argv[2]))  # test-authored literals only
buf = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        buf += d
except socket.timeout:
    buf += b"<timeout>"
print(buf.decode("ascii", "replace").splitlines()[0] if buf else "<eof>")
PY
}
declare -A bad=(
  [empty line]="b'\\n'"
  [unknown command]="b'shutdown --now\\n'"
  [double space]="b'flush  www.lab.\\n'"
  [binary bytes]="bytes(range(1, 256)) + b'\\n'"
  [HTTP request]="b'GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'"
  [overlong line]="b'flush ' + b'a' * 5000 + b'\\n'"
  [wrong arity]="b'flush-all now\\n'"
  [bad name]="b'flush a..b\\n'"
)
for what in "${!bad[@]}"; do
  ans=$(raw "$(sock 1)" "${bad[$what]}")
  check "$what -> ERR" grep -q '^ERR ' <<<"$ans"
done
ans=$(raw "$(sock 1)" "b'sta'")
check "no newline within the read timeout -> connection closed" grep -Eq '^(<eof>|ERR )' <<<"$ans"
# garbage on the TLS port: the handshake fails, nothing else
in_client $PYTHON -c "
import socket; s=socket.create_connection(('${!dn1}', $PORT), 3); s.sendall(b'status\n' * 100)
try: s.recv(100)
except Exception: pass" 2>/dev/null
check "node1 still alive" node_alive 1
check "node1 still answers" test "$(node_dig 1 www.lab. A)" = 203.0.113.80
q www.lab. A
expect_rcode NOERROR
out=$("$CTL" -s "$(sock 1)" status 2>&1)
check "control still works after the garbage" grep -q '^version: ' <<<"$out"

section "the .io incident: a zone's servers deny names that exist; one command repairs every node"
# In 2023 .io's servers briefly answered NXDOMAIN for names that exist;
# resolvers kept the denial for its negative TTL.  Here lab.'s server
# loses www (NXDOMAIN, kept 60 s by the SOA), every node caches that, the
# zone is repaired, and vipdnsctl --cluster flush-negative lab. must bring
# www.lab. back on every node at once, keeping the zone's good answers.
for ((i = 1; i <= NODES; i++)); do node_dig "$i" mail.lab. A >/dev/null; done
cp "$VDLAB_DIR/zones/lab.zone" "$WORK/lab.zone.good"
sed -i '/^www      A     203.0.113.80$/d; /^www      AAAA  2001:db8:80::80$/d' "$VDLAB_DIR/zones/lab.zone"
"$LAB" auth-stop 2>/dev/null; "$LAB" auth-start 2>/dev/null
in_client "$CTL" -c "$WORK/ops.conf" --cluster flush www.lab. >/dev/null 2>&1
denied=0
for ((i = 1; i <= NODES; i++)); do
  rc=$(in_node "$i" dig +time=2 +tries=1 @127.0.0.1 www.lab. A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
  [[ $rc == NXDOMAIN ]] && denied=$((denied + 1))
done
check "every node caches the wrong NXDOMAIN for www.lab. ($denied of $NODES)" test "$denied" = "$NODES"
cp "$WORK/lab.zone.good" "$VDLAB_DIR/zones/lab.zone"
"$LAB" auth-stop 2>/dev/null; "$LAB" auth-start 2>/dev/null
rc=$(in_node 1 dig +time=2 +tries=1 @127.0.0.1 www.lab. A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
check "the zone is repaired, yet node1 still denies www.lab. from its cache" test "$rc" = NXDOMAIN
t0=$(date +%s%N)
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster flush-negative lab. 2>&1); rc=$?
check "vipdnsctl --cluster flush-negative lab. exits 0" test $rc = 0
back=0
for ((i = 1; i <= NODES; i++)); do
  [[ $(node_dig "$i" www.lab. A) == 203.0.113.80 ]] && back=$((back + 1))
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "every node answers www.lab. again ($back of $NODES, ${ms} ms after the command)" \
  bash -c '[[ $1 == "$2" ]] && (( $3 < 1000 ))' _ "$back" "$NODES" "$ms"
check "each node flushed only negative entries" grep -q "flushed [0-9]* negative entries at or below lab." <<<"$out"
t=$(in_node 1 dig +time=2 +tries=1 @127.0.0.1 mail.lab. A | awk '$1 == "mail.lab." && $4 == "A" {print $2}')
check "the zone's good answers stayed cached (mail.lab. TTL ${t:-?} < 300)" bash -c '[[ -n $1 ]] && (( $1 < 300 ))' _ "$t"

section "the Slack incident: a DS left in the parent of a zone gone unsigned; a negative trust anchor on every node"
# secure.example. stops signing while example. keeps its DS: validating
# resolvers must answer SERVFAIL (the zone looks stripped).  The operator
# adds an NTA on the cluster; every node answers within 1 s; when it
# expires the zone is validated again (still broken: SERVFAIL).
"$LAB" auth-zone secure "$VDLAB_DIR/zones/secure.example.zone" 2>/dev/null
in_client "$CTL" -c "$WORK/ops.conf" --cluster flush-zone secure.example. >/dev/null 2>&1
rcode() { in_node "$1" dig +time=2 +tries=1 @127.0.0.1 "$2" A | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
bogus=0
for ((i = 1; i <= NODES; i++)); do [[ $(rcode "$i" www.secure.example.) == SERVFAIL ]] && bogus=$((bogus + 1)); done
check "every node answers SERVFAIL for the stripped zone ($bogus of $NODES)" test "$bogus" = "$NODES"
t0=$(date +%s%N)
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster nta add secure.example. 5 2>&1); rc=$?
check "vipdnsctl --cluster nta add exits 0" test $rc = 0
back=0
for ((i = 1; i <= NODES; i++)); do
  [[ $(node_dig "$i" www.secure.example. A) == 203.0.113.81 ]] && back=$((back + 1))
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "every node answers again ($back of $NODES, ${ms} ms after the command)" \
  bash -c '[[ $1 == "$2" ]] && (( $3 < 1000 ))' _ "$back" "$NODES" "$ms"
[[ $N_FAIL == 0 ]] || info "$out"
out=$("$CTL" -s "$(sock 2)" nta list 2>&1)
check "nta list on node2 shows it with its lifetime" grep -Eq '^secure\.example\. expires in [1-5] s$' <<<"$out"
check "node3 keeps it in its nta-file" grep -q '^secure\.example\. [0-9]*$' "$VDLAB_DIR/node3/nta"
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster status 2>"$WORK/err"); rc=$?
check "--cluster status: every node has the same anchor (exit $rc)" \
  bash -c '[[ $1 == 0 ]] && (( $(grep -c "^  negative-trust-anchors: 1 [0-9a-f]\{16\}$" <<<"$2") == 3 ))' _ "$rc" "$out"
expired() {
  local i
  for ((i = 1; i <= NODES; i++)); do [[ $(rcode "$i" www.secure.example.) == SERVFAIL ]] || return 1; done
}
check "after its 5 s the anchor expires by itself: SERVFAIL again on every node" wait_for 8 expired
check "node1 logged the expiry" grep -q 'nta: secure.example. expired' "$VDLAB_DIR/node1/resolver.log"
out=$("$CTL" -s "$(sock 1)" nta add . 2>&1); rc=$?
check "an NTA for the root is refused (exit $rc)" bash -c '[[ $1 != 0 && $2 == *"dnssec = no"* ]]' _ "$rc" "$out"
out=$("$CTL" -s "$(sock 1)" nta add secure.example. 604801 2>&1); rc=$?
check "a lifetime over a week is refused (exit $rc)" test "$rc" != 0
"$LAB" auth-zone secure "$VDLAB_DIR/zones/secure.example.zone" --sign 2>/dev/null
in_client "$CTL" -c "$WORK/ops.conf" --cluster flush-zone secure.example. >/dev/null 2>&1
check "signed again, node1 validates www.secure.example." test "$(node_dig 1 www.secure.example. A)" = 203.0.113.81

section "DNS over TLS: answers, padding, resumption across nodes sharing a ticket key, certificate reload"
dn1=NODE1_DN4 dn2=NODE2_DN4 dn3=NODE3_DN4
out=$(in_client kdig +tls +time=3 +retry=0 @"${!dn1}" www.lab. A 2>&1)
check "kdig +tls: node1 answers over TLS 1.3" \
  bash -c '[[ $1 == *"TLS session (TLS1.3)"* && $1 == *"status: NOERROR"* && $1 == *203.0.113.80* ]]' _ "$out"
out=$(in_client dig +tls +time=3 +tries=1 @"${!dn2}" www.lab. A 2>&1)
check "dig +tls: node2 answers" bash -c '[[ $1 == *"status: NOERROR"* && $1 == *203.0.113.80* ]]' _ "$out"
out=$(in_client kdig +tls +padding +time=3 +retry=0 @"${!dn1}" www.lab. A 2>&1)
size=$(sed -n 's/^;; Received \([0-9]*\) B$/\1/p' <<<"$out")
check "a padded query gets an answer padded to a 468-byte block (RFC 8467; ${size:-?} B)" \
  bash -c '[[ -n $1 ]] && (( $1 % 468 == 0 ))' _ "$size"
cat >"$WORK/dot.py" <<'PY'
import socket, ssl, struct, sys
ca, a, b = sys.argv[1:4]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False
ctx.set_alpn_protocols(["dot"])
def ask(host, session=None, keep=False):
    t = ctx.wrap_socket(socket.create_connection((host, 853), timeout=3),
                        session=session)
    q = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x03www\x03lab\x00" + struct.pack(">HH", 1, 1)
    t.sendall(struct.pack(">H", len(q)) + q)
    n = struct.unpack(">H", t.recv(2))[0]
    d = b""
    while len(d) < n:
        d += t.recv(n - len(d))
    res = (t.session, t.session_reused, t.selected_alpn_protocol(), d[3] & 15)
    t.close()
    return res
s1, r1, alpn, rc = ask(a)
_, r2, _, rc2 = ask(a, s1)
s3, _, _, _ = ask(a)
_, r3, _, rc3 = ask(b, s3)
print("alpn=%s rcode=%d first=%s same-node=%s other-node=%s rcodes=%d,%d" % (alpn, rc, r1, r2, r3, rc2, rc3))
PY
out=$(in_client python3 "$WORK/dot.py" "$C/ca.pem" "${!dn1}" "${!dn2}" 2>&1)
check "ALPN dot, a new session first, resumed on the same node ($out)" \
  bash -c '[[ $1 == *"alpn=dot rcode=0 first=False same-node=True"* ]]' _ "$out"
check "a ticket from node1 resumes on node2 (the shared ticket key)" grep -q "other-node=True rcodes=0,0" <<<"$out"
out=$(in_client python3 "$WORK/dot.py" "$C/ca.pem" "${!dn1}" "${!dn3}" 2>&1)
check "and not on node3, whose ticket key differs (full handshake, still answered)" \
  grep -q "other-node=False rcodes=0,0" <<<"$out"
out=$("$CTL" -s "$(sock 2)" stats 2>&1)
check "node2 counted the resumption" bash -c '(( $(sed -n "s/^tls_resumed=//p" <<<"$1") >= 1 ))' _ "$out"
in_client python3 -c "
import socket
s = socket.create_connection(('${!dn1}', 853), timeout=3)
s.sendall(b'\x16\x03\x01\x02\x00' + b'\xff' * 512)
try:
    s.recv(100)
except Exception:
    pass
" >/dev/null 2>&1
out=$(in_client kdig +tls +time=3 +retry=0 @"${!dn1}" www.lab. A 2>&1)
check "a garbage ClientHello costs its connection only: node1 still answers DoT" grep -q "status: NOERROR" <<<"$out"
out=$("$CTL" -s "$(sock 1)" stats 2>&1)
check "node1 counted the TLS error" bash -c '(( $(sed -n "s/^tls_errors=//p" <<<"$1") >= 1 ))' _ "$out"
# a renewed certificate: reload, new connections get it, an open one stays
fp() { in_client sh -c "echo | openssl s_client -connect $1:853 2>/dev/null | openssl x509 -noout -fingerprint -sha256"; }
before=$(fp "${!dn1}")
mkcert dot1b ca
cp "$C/dot1b.pem" "$C/dot1.pem"; cp "$C/dot1b.key" "$C/dot1.key"; chmod 0644 "$C/dot1.key"
"$CTL" -s "$(sock 1)" reload >/dev/null 2>&1
after=$(fp "${!dn1}")
check "after reload node1 presents the renewed certificate" bash -c '[[ -n $1 && -n $2 && $1 != "$2" ]]' _ "$before" "$after"

section "DNS cookies: one node's server cookie is valid on every node sharing the secret"
ck() { in_node "$1" dig +time=2 +tries=1 +nobadcookie @127.0.0.1 www.lab. A +cookie="$2" 2>&1; }
cookie_of() { sed -n 's/^; COOKIE: \([0-9a-f]*\).*/\1/p' <<<"$1"; }
status_of() { sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$1"; }
echoed() {   # echoed OUT COOKIE: NOERROR with exactly that cookie back
  [[ $(status_of "$1") == NOERROR && $1 == *"; COOKIE: $2 "* ]]
}
out=$(ck 1 0102030405060708); c1=$(cookie_of "$out")
check "node1 answers a client cookie with an RFC 9018 server cookie ($c1)" \
  bash -c '[[ ${#1} == 48 && ${1:0:16} == 0102030405060708 && ${1:16:8} == 01000000 ]]' _ "$c1"
for i in 2 3; do
  out=$(ck "$i" "$c1")
  check "node$i takes node1's cookie as its own (NOERROR, echoed)" echoed "$out" "$c1"
done
# node1 alone rolls its secret: the fleet disagrees
"$CTL" -s "$(sock 1)" cookie-secret add new >/dev/null 2>&1
"$CTL" -s "$(sock 1)" cookie-secret activate >/dev/null 2>&1
out=$(ck 1 0102030405060708); c2=$(cookie_of "$out")
out=$(ck 2 "$c2")
check "a cookie from a node with another secret is BADCOOKIE, with a good one" \
  bash -c '[[ $(sed -n "s/.*status: \([A-Z]*\),.*/\1/p" <<<"$1") == BADCOOKIE && $1 == *"; COOKIE: 0102030405060708"* ]]' _ "$out"
in_client "$CTL" -c "$WORK/ops.conf" --cluster status >/dev/null 2>"$WORK/err"; rc=$?
check "--cluster status flags the cookie drift (exit $rc)" \
  bash -c '[[ $1 == 1 ]] && grep -q "drift: cookies differs" "$2"' _ "$rc" "$WORK/err"
# the fleet rolls together: every node gets the same new secret
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster cookie-secret add new 2>&1); rc=$?
check "--cluster cookie-secret add new: every node stages one secret (exit $rc)" test $rc = 0
check "the cluster command is logged without the secret" \
  bash -c 'grep -q "cluster .*: cookie-secret add$" "$1" && ! grep -Eq "cookie-secret add [0-9a-f]{32}" "$1"' \
  _ "$VDLAB_DIR/node2/resolver.log"
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster cookie-secret activate 2>&1); rc=$?
fps=$(grep -o 'cookies: active [0-9a-f]*' <<<"$out" | sort -u | wc -l)
check "--cluster cookie-secret activate: one active fingerprint on all nodes (exit $rc, $fps)" \
  bash -c '[[ $1 == 0 && $2 == 1 ]]' _ "$rc" "$fps"
out=$(ck 1 1112131415161718); c3=$(cookie_of "$out")
for i in 2 3; do
  check "node$i echoes node1's cookie made with the fleet's secret" echoed "$(ck "$i" "$c3")" "$c3"
done
in_client "$CTL" -c "$WORK/ops.conf" --cluster cookie-secret add new >/dev/null 2>&1
in_client "$CTL" -c "$WORK/ops.conf" --cluster cookie-secret activate >/dev/null 2>&1
out=$(ck 3 "$c3")
check "after the next roll node3 still accepts the old cookie, with a new one" \
  bash -c '[[ $(sed -n "s/.*status: \([A-Z]*\),.*/\1/p" <<<"$1") == NOERROR && $1 == *"; COOKIE: 1112131415161718"* && $1 != *"; COOKIE: $2 "* ]]' _ "$out" "$c3"
in_client "$CTL" -c "$WORK/ops.conf" --cluster cookie-secret drop >/dev/null 2>&1
check "after drop the old cookie is BADCOOKIE on node2" test "$(status_of "$(ck 2 "$c3")")" = BADCOOKIE
check "node2 keeps its secrets in its cookie-secret-file (0600, one line)" \
  bash -c '[[ $(stat -c %a "$1") == 600 && $(grep -c "^[0-9a-f]\{32\}$" "$1") == 1 ]]' _ "$VDLAB_DIR/node2/cookie-secrets"
# never cached: two clients asking the same cached name get their own
a=$(cookie_of "$(ck 1 aaaaaaaaaaaaaaaa)"); b=$(cookie_of "$(ck 1 bbbbbbbbbbbbbbbb)")
check "a cache hit carries the asking client's cookie, not a stored one" \
  bash -c '[[ ${1:0:16} == aaaaaaaaaaaaaaaa && ${2:0:16} == bbbbbbbbbbbbbbbb && ${1:16} != "${2:16}" ]]' _ "$a" "$b"
out=$(in_node 1 dig +time=2 +tries=1 @127.0.0.1 www.lab. A +cookie=0102030405060708090a0b0c 2>&1)
check "a 12-byte COOKIE is FORMERR (RFC 7873 5.2.2)" test "$(status_of "$out")" = FORMERR
out=$("$CTL" -s "$(sock 2)" stats 2>&1)
check "node2 counted the BADCOOKIE answers" bash -c '(( $(sed -n "s/^cookies_bad=//p" <<<"$1") >= 2 ))' _ "$out"

section "config drift: --cluster status names a node whose answers would differ"
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster status 2>"$WORK/err"); rc=$?
check "status: every node agrees (exit $rc)" bash -c '[[ $1 == 0 ]] && ! grep -q drift "$2"' _ "$rc" "$WORK/err"
check "status shows each node's answer policy and trust anchors" \
  bash -c '(( $(grep -c "^  answer-policy: [0-9a-f]\{16\}$" <<<"$1") == 3 && $(grep -c "^  trust-anchors: files [0-9a-f]\{16\}$" <<<"$1") == 3 ))' _ "$out"
cp "$NODE2_CONF" "$WORK/node2.conf.good"
echo "cache-max-ttl = 600" >>"$NODE2_CONF"
"$CTL" -s "$(sock 2)" reload >/dev/null 2>&1
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster status 2>"$WORK/err"); rc=$?
check "one node with another cache-max-ttl: exit 1" test $rc = 1
check "stderr names the drift and node2 ($(head -c 200 "$WORK/err"))" \
  grep -q "drift: answer-policy differs: .*node2=" "$WORK/err"
cp "$WORK/node2.conf.good" "$NODE2_CONF"
"$CTL" -s "$(sock 2)" reload >/dev/null 2>&1
in_client "$CTL" -c "$WORK/ops.conf" --cluster status >/dev/null 2>&1; rc=$?
check "after the fix the nodes agree again (exit $rc)" test $rc = 0

section "a node without a snapshot warms its cache from a healthy peer"
# node3 comes back as a new node would: no snapshot, cache-warm-entries
# set; with the authorities down it can only answer what node1 gave it
check "node1 has www.lab. cached" test "$(node_dig 1 www.lab. A)" = 203.0.113.80
"$LAB" resolver-stop 3 2>/dev/null
rm -f "$VDLAB_DIR/node3/cache.snapshot"
echo "cache-warm-entries = 1000" >>"$NODE3_CONF"
"$LAB" auth-stop 2>/dev/null
"$LAB" resolver-start 3 2>/dev/null || fail "node3 restarted"
info "$(grep -E 'snapshot|warm' "$VDLAB_DIR/node3/resolver.log" | tail -n 3)"
check "node3 logged the warming" grep -Eq "cache warmed from peer node1: loaded [1-9][0-9]* of" "$VDLAB_DIR/node3/resolver.log"
check "node3 answers www.lab. from the warmed cache (authorities down)" \
  test "$(node_dig 3 www.lab. A)" = 203.0.113.80
out=$(in_client "$CTL" -c "$WORK/ops.conf" --cluster cache-export 0 2>&1); rc=$?
check "cache-export N out of range is refused (exit 1)" test $rc = 1
"$LAB" auth-start 2>/dev/null

finish
