#!/usr/bin/env bash
# Metrics and the status page under lab traffic:
#  - /metrics passes `promtool check metrics`;
#  - counters move consistently: hits + misses = cache lookups (the valid
#    allowed queries sent); queries = answers (rcode totals) + drops; every
#    answer is timed once (response-time _count = rcode total);
#  - histograms are cumulative (buckets never decrease, +Inf = _count);
#  - every metric the Grafana dashboard references exists in a live scrape;
#  - the status page renders in headless Chromium (screenshot written to
#    $VD_ARTIFACTS_DIR, default the build directory or /tmp).
#   tests/integration/test_metrics.sh PATH_TO_VIPDNSD [ARTIFACTS_DIR]
source "$(dirname "$0")/lib.sh" "$@"
require promtool curl
[[ $RESOLVER == vipdnsd ]] || { echo "$TEST_NAME: vipdnsd only"; exit 77; }
ART=${2:-${VD_ARTIFACTS_DIR:-/tmp}}
DASH=$ROOT_DIR/deploy/grafana/vipdns-dashboard.json
URL=http://127.0.0.1:9153

lab_start --vd-conf "metrics-listen = 127.0.0.1@9153
acl = 192.0.2.200/32 refuse"

scrape() { in_node 1 curl -sf --max-time 5 "$URL/metrics"; }
# val FILE 'series selector as written in the text' -> value (0 if absent)
val() { awk -v k="$2" '$1 == k {print $2; found=1} END {if (!found) print 0}' "$1"; }
# sum FILE NAME -> sum over every series of a family (not _bucket etc.)
sum() { awk -v n="$1" 'BEGIN{s=0} $1 == n || index($1, n "{") == 1 {s += $2} END {printf "%.0f\n", s}' "$2"; }
d() { echo $(( $(sum "$1" "$WORK/after") - $(sum "$1" "$WORK/before") )); }

section "a live scrape is valid exposition text"
wait_for 10 scrape >/dev/null
scrape >"$WORK/before"
if promtool check metrics <"$WORK/before" >"$WORK/promtool.out" 2>&1; then pass "promtool check metrics"
else fail "promtool check metrics" "$(head -n 20 "$WORK/promtool.out")"; fi
check "build info present" grep -q '^vipdns_build_info{version="' "$WORK/before"
ctype=$(in_node 1 curl -s -o /dev/null -w '%{content_type}' "$URL/metrics")
check "content type is the text format 0.0.4" grep -q 'version=0.0.4' <<<"$ctype"
code=$(in_node 1 curl -s -o /dev/null -w '%{http_code}' "$URL/nope")
check "unknown path -> 404" test "$code" = 404

section "lab traffic"
valid=0
for name in www.lab. mx.lab. v4only.lab. nosuch.lab. alias.lab.; do
  for t in A AAAA MX; do
    for rep in 1 2; do
      q "$name" "$t"; got_response && valid=$((valid + 1))
    done
  done
done
q -b "$CLIENT4_X1" www.lab. A; expect_rcode REFUSED
q -b "$CLIENT4_X1" www.lab. AAAA; expect_rcode REFUSED
q www.lab. A +tcp; got_response && valid=$((valid + 1))
# two packets too short for a DNS header: dropped as malformed
in_client $PYTHON -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in (b'\x12', b'\x00' * 7):
    s.sendto(p, ('$VIP4', 53))"
info "$valid valid queries answered, 2 refused, 2 malformed"
settled() { scrape >"$WORK/after" && [[ $(sum vipdns_request_list_current_all "$WORK/after") == 0 ]] &&
  (( $(d vipdns_queries_total) >= valid + 4 )); }
wait_for 10 settled
scrape >"$WORK/after"
promtool check metrics <"$WORK/after" >/dev/null 2>&1 && pass "promtool check metrics under traffic" ||
  fail "promtool check metrics under traffic"

section "counters move consistently"
dq=$(d vipdns_queries_total) dr=$(d vipdns_answer_rcodes_total) dd=$(d vipdns_queries_dropped_total)
dh=$(d vipdns_cache_hits_total) dm=$(d vipdns_cache_misses_total)
info "queries +$dq, answers +$dr, dropped +$dd, hits +$dh, misses +$dm"
check "queries = $((valid + 4)) sent" test "$dq" = $((valid + 4))
check "hits + misses = cache lookups ($valid valid, allowed queries)" test $((dh + dm)) = "$valid"
check "queries = answers (rcode totals) + drops" test "$dq" = $((dr + dd))
check "malformed drops counted" test "$(d 'vipdns_queries_dropped_total{reason="malformed"}')" -ge 0
check "2 malformed drops" test $(( $(val "$WORK/after" 'vipdns_queries_dropped_total{reason="malformed"}') - $(val "$WORK/before" 'vipdns_queries_dropped_total{reason="malformed"}') )) = 2
check "2 ACL refusals" test $(( $(val "$WORK/after" 'vipdns_queries_refused_total{reason="acl"}') - $(val "$WORK/before" 'vipdns_queries_refused_total{reason="acl"}') )) = 2
check "every answer timed once (response time _count = rcode total)" \
  test "$(sum vipdns_response_time_seconds_count "$WORK/after")" = "$(sum vipdns_answer_rcodes_total "$WORK/after")"
check "qtype counters add up to the queries with a question" \
  test "$(d vipdns_query_types_total)" = $((dq - dd))
check "one TCP query counted" test $(( $(val "$WORK/after" 'vipdns_queries_total{transport="tcp",dataplane="socket"}') - $(val "$WORK/before" 'vipdns_queries_total{transport="tcp",dataplane="socket"}') )) = 1
check "recursions happened and were timed" test "$(sum vipdns_recursion_time_seconds_count "$WORK/after")" -gt 0

section "histograms are cumulative"
for h in vipdns_response_time_seconds vipdns_recursion_time_seconds; do
  check "$h buckets never decrease and +Inf = _count" awk -v h="$h" '
    index($1, h "_bucket{") == 1 { if ($2 + 0 < prev) bad = 1; prev = $2 + 0; if ($1 ~ /le="\+Inf"/) inf = $2 }
    $1 == h "_count" { cnt = $2 }
    END { exit (bad || inf == "" || inf != cnt) }' "$WORK/after"
done

section "the Grafana dashboard uses only exported metrics"
check "dashboard is valid JSON" $PYTHON -m json.tool "$DASH" >/dev/null
missing=""
for m in $(grep -o 'vipdns_[a-z0-9_]*' "$DASH" | sort -u); do
  base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$m")
  grep -q "^# TYPE $m " "$WORK/after" || grep -q "^# TYPE $base histogram" "$WORK/after" || missing+=" $m"
done
check "every referenced metric is in the scrape${missing:+ (missing:$missing)}" test -z "$missing"

section "status page in headless Chromium"
if ! command -v chromium >/dev/null; then skip "chromium not installed"; finish; fi
page=$(in_node 1 curl -sf "$URL/")
check "/ serves the status page" grep -q '<title>vipdns status</title>' <<<"$page"
chrome() {
  local prof; prof=$(mktemp -d "$WORK/chrome.XXXXXX")
  in_node 1 timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-dev-shm-usage --user-data-dir="$prof" \
    --window-size=1280,900 --virtual-time-budget=7000 "$@" 2>>"$WORK/chromium.log"
}
dom=$(chrome --dump-dom "$URL/")
check "page rendered live numbers (q/s by data plane)" grep -q 'socket' <<<"$dom"
check "hit ratio shown as a percentage" grep -Eq 'id="hit"[^>]*>[0-9.]+ %' <<<"$dom"
check "latency percentiles shown" grep -Eq '<td>p99</td><td class="n">[0-9.]+ (ms|µs)' <<<"$dom"
check "rcode mix shown" grep -q '<td>NOERROR</td>' <<<"$dom"
check "announcement state without anycast: not configured" grep -q 'anycast: not configured' <<<"$dom"
mkdir -p "$ART"
shot=$ART/vipdns-status.png
rm -f "$shot"
chrome --screenshot="$shot" "$URL/" >/dev/null
check "screenshot written ($shot)" bash -c '[[ -s $1 && $(stat -c %s "$1") -gt 10000 ]] && head -c 8 "$1" | grep -q PNG' _ "$shot"
[[ $N_FAIL == 0 ]] || { info "dom:"; head -c 3000 <<<"$dom"; }

finish
