#!/usr/bin/env bash
# Malformed packets (raw UDP/TCP from python3, see dnswire.py): each gets
# FORMERR (or NOTIMP where noted) or no answer at all, never a crash; a packet
# with QR=1 or a short header is never answered; answers smuggled into a query
# never reach the cache; the daemon keeps answering throughout.
#   tests/integration/test_malformed.sh PATH_TO_VIPDNSD
source "$(dirname "$0")/lib.sh" "$@"
require
lab_start

cached_a() { q www.lab. A +short; printf '%s' "$OUT" | sort | tr '\n' ' '; }

section "warm the cache"
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
before=$(cached_a)
info "www.lab. A before: $before"
pid=$(node_pid 1)

# kind:expectation  (formerr-or-none | none)
cases=(
  ptr-loop:formerr-or-none
  ptr-forward:formerr-or-none
  qdcount-2:formerr-or-none
  qdcount-0:formerr-or-none
  qdcount-lie:formerr-or-none
  short-header:none
  empty:none
  truncated-question:formerr-or-none
  label-overrun:formerr-or-none
  qr-set:none
  forged-answer:any
  forged-additional:any
  bad-opt:formerr-or-none
  two-opt:formerr-or-none
  long-name:formerr-or-none
  tcp-short-length:none
  tcp-garbage:formerr-or-none
)

for c in "${cases[@]}"; do
  kind=${c%%:*} want=${c#*:}
  section "malformed: $kind"
  for server in "$VIP4" "$VIP6"; do
    OUT=$(in_client "$PYTHON" "$DNSWIRE" malformed "$server" "$kind" 2>&1)
    LAST_Q="dnswire malformed $server $kind"
    info "$server: $OUT"
    case $want in
      none) check "$kind via $server: not answered" grep -qx 'NO_ANSWER' <<<"$OUT" ;;
      formerr-or-none)
        check "$kind via $server: FORMERR or no answer" grep -Eq '^(NO_ANSWER|RCODE=FORMERR QR=1 ID=match)' <<<"$OUT" ;;
      any) check "$kind via $server: no crash, a valid reply or none" grep -Eq '^(NO_ANSWER|RCODE=[A-Z]+ QR=1 ID=match)' <<<"$OUT" ;;
    esac
  done
  q www.lab. A
  expect_rcode NOERROR
  check "same resolver process still alive (pid $pid)" kill -0 "$pid"
done

section "the cache is unchanged"
after=$(cached_a)
info "www.lab. A after: $after"
check "www.lab. A unchanged ('$before' = '$after')" test "$before" = "$after"
q www.lab. A
check "no forged record (192.0.2.66) served" bash -c '! grep -q "192\.0\.2\.66" <<<"$1"' _ "$OUT"
q www.lab. A +tcp
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
expect_answer_count 1

section "burst of garbage"
in_client "$PYTHON" - "$VIP4" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2000):
    s.sendto(os.urandom(1 + i % 600), (sys.argv[1], 53))
PY
q www.lab. A
expect_rcode NOERROR
expect_answer 'A[[:space:]]+203\.0\.113\.80$'
check "resolver process survived 2000 random datagrams" kill -0 "$pid"

finish
