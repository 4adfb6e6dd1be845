#!/usr/bin/env bash
# check_instrumented.sh LIB.a: in a -Dfuzzing=true build, every object of
# the library that defines a function must carry libFuzzer's coverage
# instrumentation (each such module registers its counters through
# __sanitizer_cov_8bit_counters_init).  Without it the targets are
# fuzzed blind: libFuzzer only sees the coverage of the target's own file.
set -euo pipefail
lib=${1:?usage: check_instrumented.sh LIB.a}
nm=${NM:-nm}
fail=0 n=0
syms=$("$nm" -A "$lib")
for obj in $(awk -F: '$3 ~ / T / {print $2}' <<<"$syms" | sort -u); do
	n=$((n + 1))
	if ! grep -q "^[^:]*:$obj:.* U __sanitizer_cov_8bit_counters_init$" <<<"$syms"; then
		echo "not instrumented for coverage: $obj"
		fail=1
	fi
done
[ "$n" -gt 0 ] || { echo "no objects with functions in $lib"; exit 1; }
echo "$n objects checked"
exit $fail
