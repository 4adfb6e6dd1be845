#!/usr/bin/env bash
# A libFuzzer campaign over the committed corpora (tests/README.md,
# "Fuzzing campaign"):
#
#   tests/fuzz/campaign.sh BUILD_FUZZ OUT [SECONDS] [TARGET...]
#
# BUILD_FUZZ is a build directory set up with -Dfuzzing=true (clang,
# ASan+UBSan).  Each target (default: every fuzz_* binary there) runs
# SECONDS (default 600) from its committed corpus at nice 15, two at a
# time, writing new inputs to OUT/new-<corpus>, its log to
# OUT/log-<corpus>.txt and any crash, leak or timeout input to
# OUT/art-<corpus>/.  The committed corpus is never written.  Afterwards
# OUT/merged-<corpus>/ holds the committed corpus plus only those new
# inputs that add coverage (libFuzzer -merge=1, smaller inputs first),
# and a summary line per target goes to stdout and OUT/summary.txt.
# MERGE_FLAGS=-use_counters=0 keeps only inputs that add edges, not new
# hit counts of known edges: far fewer files where the finds are many.
set -euo pipefail

build=${1:?usage: campaign.sh BUILD_FUZZ OUT [SECONDS] [TARGET...]}
out=${2:?usage: campaign.sh BUILD_FUZZ OUT [SECONDS] [TARGET...]}
secs=${3:-600}
shift $(($# < 3 ? $# : 3))
src=$(cd "$(dirname "$0")" && pwd)
bin="$(cd "$build" && pwd)/tests/fuzz"
mkdir -p "$out"
out=$(cd "$out" && pwd)
corpus_of() { sed -n "s/^ *'$1' : '\([a-z]*\)',/\1/p" "$src/meson.build"; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$bin"/fuzz_*; do
		[ -x "$f" ] && [ -f "$f" ] && targets+=("$(basename "$f")")
	done
fi

run() {
	local t=$1 c
	c=$(corpus_of "$t")
	[ -n "$c" ] || { echo "$t: not in $src/meson.build" >&2; return 1; }
	mkdir -p "$out/new-$c" "$out/art-$c"
	# A crash ends the run early: that is reported, not an error here.
	(cd "$out" && nice -n 15 "$bin/$t" -max_total_time="$secs" \
		-print_final_stats=1 -artifact_prefix="$out/art-$c/" \
		"$out/new-$c" "$src/corpus/$c" >"$out/log-$c.txt" 2>&1) || true
}

# Two at a time: the machine has two cores and is shared.
for ((i = 0; i < ${#targets[@]}; i += 2)); do
	run "${targets[i]}" &
	if ((i + 1 < ${#targets[@]})); then run "${targets[i + 1]}" & fi
	wait
done

: >"$out/summary.txt"
for t in "${targets[@]}"; do
	c=$(corpus_of "$t")
	log="$out/log-$c.txt"
	rm -rf "$out/merged-$c"
	cp -r "$src/corpus/$c" "$out/merged-$c"
	# shellcheck disable=SC2086 # MERGE_FLAGS is a list of flags
	nice -n 15 "$bin/$t" -merge=1 ${MERGE_FLAGS:-} "$out/merged-$c" "$out/new-$c" \
		>"$out/merge-$c.txt" 2>&1
	last=$(grep -E '(pulse|NEW|REDUCE|DONE|INITED).*cov:' "$log" | tail -n1)
	printf '%s execs=%s exec/s=%s cov=%s ft=%s corpus=%s new=%s crashes=%s\n' \
		"$t" \
		"$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
		"$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")" \
		"$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")" \
		"$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")" \
		"$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")" \
		"$(($(ls "$out/merged-$c" | wc -l) - $(ls "$src/corpus/$c" | wc -l)))" \
		"$(ls "$out/art-$c" | wc -l)" | tee -a "$out/summary.txt"
done
