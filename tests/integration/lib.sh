# shellcheck shell=bash
# Common helpers for the integration scenarios.  Source it from a test:
#
#   source "$(dirname "$0")/lib.sh" "$@"      # $1 = path to vipdnsd
#   lab_start [--vd-conf "lines"] [--ub-conf "lines"] [--no-resolver]
#   q www.lab. A                     # dig from the client to the IPv4 VIP -> $OUT
#   expect_rcode NOERROR; expect_flag ad; expect_answer 'A[[:space:]]+203\.0\.113\.80'
#   finish                           # prints the summary, exit status = failures?1:0
#
# RESOLVER=unbound runs the same scenario against Debian's unbound (to check
# the lab and the assertions themselves); checks wrapped in `vd_only` are then
# reported as skipped.  Each test uses its own lab prefix (vdt<pid>), so tests
# never share namespaces, and the EXIT trap always tears the lab down.
# Exit status: 0 all passed, 1 a check failed, 77 skipped (meson's convention).

set -uo pipefail

TEST_NAME=$(basename "$0" .sh)
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT_DIR=$(cd "$TESTS_DIR/../.." && pwd)
LAB=$ROOT_DIR/tests/lab/lab.sh
DNSWIRE=$TESTS_DIR/dnswire.py
RESOLVER=${RESOLVER:-vipdnsd}
VIPDNSD=${1:-${VIPDNSD:-$ROOT_DIR/build/src/vipdnsd}}
PYTHON=/usr/bin/python3
[[ -x $PYTHON ]] || PYTHON=python3

export VDLAB=${VDLAB_TEST_PREFIX:-vdt}$$
export VDLAB_DIR=/tmp/$VDLAB
WORK=$(mktemp -d "/tmp/$TEST_NAME.XXXXXX")
N_PASS=0 N_FAIL=0 N_SKIP=0
FAILED_CHECKS=()
OUT=""
EXTRA_NS=()          # namespaces a test created itself (removed at exit)
EXTRA_PIDS=()        # processes a test started itself (stopped at exit)

_c_red=$'\e[31m' _c_grn=$'\e[32m' _c_yel=$'\e[33m' _c_off=$'\e[0m'
[[ -t 1 ]] || { _c_red="" _c_grn="" _c_yel="" _c_off=""; }

info() { printf '    %s\n' "$*"; }
section() { printf '\n== %s: %s\n' "$TEST_NAME" "$*"; }
pass() { N_PASS=$((N_PASS + 1)); printf '  %sok%s   %s\n' "$_c_grn" "$_c_off" "$*"; }
fail() {
  N_FAIL=$((N_FAIL + 1)); FAILED_CHECKS+=("$1")
  printf '  %sFAIL%s %s\n' "$_c_red" "$_c_off" "$1"
  shift
  local l; for l in "$@"; do printf '         %s\n' "$l"; done
  if [[ -n $OUT ]]; then
    printf '         last query output (%s):\n' "${LAST_Q:-}"
    printf '%s\n' "$OUT" | sed 's/^/         | /' | head -n 40
  fi
}
skip() { N_SKIP=$((N_SKIP + 1)); printf '  %sskip%s %s\n' "$_c_yel" "$_c_off" "$*"; }

# vd_only DESCRIPTION cmd...: run the check only against vipdnsd
vd_only() {
  local what=$1; shift
  if [[ $RESOLVER != vipdnsd ]]; then skip "$what (vipdnsd only; RESOLVER=$RESOLVER)"; return 0; fi
  "$@"
}

finish() {
  local total=$((N_PASS + N_FAIL + N_SKIP))
  printf '\n== %s: %d checks, %d passed, %d failed, %d skipped (resolver %s)\n' \
    "$TEST_NAME" "$total" "$N_PASS" "$N_FAIL" "$N_SKIP" "$RESOLVER"
  local c; for c in "${FAILED_CHECKS[@]}"; do printf '   failed: %s\n' "$c"; done
  ((N_FAIL == 0)) && exit 0
  exit 1
}

cleanup() {
  local rc=$?
  local pid ns
  for pid in "${EXTRA_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && { kill -TERM "$pid" 2>/dev/null; sleep 0.2; kill -KILL "$pid" 2>/dev/null; }
  done
  for ns in "${EXTRA_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [[ -n ${KEEP_LAB:-} ]]; then
    echo "KEEP_LAB set: lab left running; VDLAB=$VDLAB $LAB down   to remove it" >&2
  else
    # Stop the daemons cleanly first, so that a sanitizer build reports
    # leaks and errors into their logs; any report fails the test.
    if [[ $RESOLVER == vipdnsd && -d ${VDLAB_DIR:-/nonexistent} ]]; then
      "$LAB" resolver-stop >/dev/null 2>&1 || true
      local log
      for log in "$VDLAB_DIR"/node*/resolver.log; do
        [[ -f $log ]] || continue
        if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$log"; then
          echo "$TEST_NAME: sanitizer report in $log:" >&2
          grep -E -A20 'AddressSanitizer|LeakSanitizer|runtime error:' "$log" | head -60 >&2
          rc=1
        fi
      done
    fi
    "$LAB" down >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

require() {
  [[ $(id -u) == 0 ]] || { echo "$TEST_NAME: needs root (network namespaces); skipping"; exit 77; }
  local c
  for c in ip dig nsd ldns-signzone "$@"; do
    command -v "$c" >/dev/null || { echo "$TEST_NAME: missing $c; skipping"; exit 77; }
  done
  if [[ $RESOLVER == vipdnsd && ! -x $VIPDNSD ]]; then
    echo "$TEST_NAME: vipdnsd not found at '$VIPDNSD' (pass its path as \$1)"; exit 1
  fi
}

# lab_start [--vd-conf TEXT] [--ub-conf TEXT] [--nodes N] [--no-resolver]
# Extra configuration lines are resolver-specific: --vd-conf for vipdnsd,
# --ub-conf (unbound.conf server: lines) for RESOLVER=unbound.
lab_start() {
  local vd="" ub="" args=()
  while (($#)); do
    case $1 in
      --vd-conf) vd=$2; shift 2 ;;
      --ub-conf) ub=$2; shift 2 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  local extra=$WORK/extra.conf
  if [[ $RESOLVER == unbound ]]; then printf '%s\n' "$ub" >"$extra"; else printf '%s\n' "$vd" >"$extra"; fi
  section "lab up ($VDLAB, resolver $RESOLVER)"
  local upargs=(--resolver "$RESOLVER" --extra-conf "$extra" "${args[@]}")
  [[ $RESOLVER == vipdnsd ]] && upargs+=(--vipdnsd "$VIPDNSD")
  if ! "$LAB" up "${upargs[@]}" 2>"$WORK/lab-up.log"; then
    OUT=""
    fail "lab up" "$(cat "$WORK/lab-up.log")"
    finish
  fi
  # shellcheck disable=SC1090
  source <("$LAB" env)
  pass "lab up (node1 pid $(cat "$NODE1_PIDFILE" 2>/dev/null || echo -))"
}

in_client() { ip netns exec "$NS_CLIENT" "$@"; }
in_node() { local i=$1; shift; local v="NS_NODE$i"; ip netns exec "${!v}" "$@"; }

# q [dig args...]: query the IPv4 VIP from the client (override the server
# with @ADDR anywhere in the args); output in $OUT, dig status in $DIG_RC
q() {
  local server="@$VIP4" a args=()
  for a in "$@"; do
    if [[ $a == @* ]]; then server=$a; else args+=("$a"); fi
  done
  OUT=$(in_client dig +time=3 +tries=1 "$server" "${args[@]}" 2>&1)
  DIG_RC=$?
  LAST_Q="dig $server ${args[*]}"
}

# ---- parsing dig output in $OUT
out_rcode() { sed -n 's/.*->>HEADER<<-.*status: \([A-Z0-9]*\),.*/\1/p' <<<"$OUT" | tail -n 1; }
out_flags() { sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$OUT" | tail -n 1; }
# answer-section records (last response in $OUT)
out_answer() {
  awk '/^;; ANSWER SECTION:/{a=1; buf=""; next} /^;; [A-Z]+ SECTION:/{a=0} /^$/{a=0} a && !/^;/{buf=buf $0 "\n"} END{printf "%s", buf}' <<<"$OUT"
}
out_authority() {
  awk '/^;; AUTHORITY SECTION:/{a=1; buf=""; next} /^;; [A-Z]+ SECTION:/{a=0} /^$/{a=0} a && !/^;/{buf=buf $0 "\n"} END{printf "%s", buf}' <<<"$OUT"
}
# TTL of the first answer record matching TYPE
out_ttl() { out_answer | awk -v t="${1:-A}" '$4 == t {print $2; exit}'; }
got_response() { [[ -n $(out_rcode) ]]; }

# ---- assertions (on the last q)
expect_rcode() {
  local want=$1 got; got=$(out_rcode)
  if [[ $got == "$want" ]]; then pass "$LAST_Q -> rcode $want"
  else fail "$LAST_Q -> rcode $want" "got rcode '${got:-<no response>}'"; fi
}
expect_flag() {
  local f=$1 flags; flags=" $(out_flags) "
  if [[ $flags == *" $f "* ]]; then pass "$LAST_Q -> flag $f set"
  else fail "$LAST_Q -> flag $f set" "flags were:$flags"; fi
}
expect_noflag() {
  local f=$1 flags; flags=" $(out_flags) "
  if got_response && [[ $flags != *" $f "* ]]; then pass "$LAST_Q -> flag $f clear"
  else fail "$LAST_Q -> flag $f clear" "flags were:$flags"; fi
}
# expect_answer ERE: some answer record matches (fields separated by whitespace)
expect_answer() {
  local re=$1
  if out_answer | grep -Eq -- "$re"; then pass "$LAST_Q -> answer matches /$re/"
  else fail "$LAST_Q -> answer matches /$re/"; fi
}
expect_no_answer_records() {
  local n; n=$(out_answer | grep -c . || true)
  if got_response && ((n == 0)); then pass "$LAST_Q -> empty answer section"
  else fail "$LAST_Q -> empty answer section" "$n answer record(s)"; fi
}
expect_answer_count() {
  local want=$1 n; n=$(out_answer | grep -c . || true)
  if ((n == want)); then pass "$LAST_Q -> $want answer record(s)"
  else fail "$LAST_Q -> $want answer record(s)" "got $n"; fi
}
expect_authority() {
  local re=$1
  if out_authority | grep -Eq -- "$re"; then pass "$LAST_Q -> authority matches /$re/"
  else fail "$LAST_Q -> authority matches /$re/"; fi
}
# expect_output ERE / expect_no_output ERE: anywhere in dig's output
expect_output() {
  if grep -Eq -- "$1" <<<"$OUT"; then pass "$LAST_Q -> output has /$1/"
  else fail "$LAST_Q -> output has /$1/"; fi
}
expect_no_output() {
  if got_response && ! grep -Eq -- "$1" <<<"$OUT"; then pass "$LAST_Q -> output lacks /$1/"
  else fail "$LAST_Q -> output lacks /$1/"; fi
}
expect_timeout() {
  if ! got_response && grep -Eq 'timed out|no servers could be reached' <<<"$OUT"; then
    pass "$LAST_Q -> no response (dropped)"
  else fail "$LAST_Q -> no response (dropped)" "got rcode '$(out_rcode)'"; fi
}
# check DESCRIPTION cmd...: generic assertion
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# resolver process of node I (from the lab's pidfile)
node_pid() { local v="NODE${1:-1}_PIDFILE"; cat "${!v}" 2>/dev/null; }
node_alive() { local p; p=$(node_pid "${1:-1}") && [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }

# wait_for SECONDS cmd...: bounded polling
wait_for() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
