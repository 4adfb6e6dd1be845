#!/usr/bin/env bash
# Flake check: runs integration scenarios several times each while CPU
# burners load every core, and reports how often each passed.  A scenario
# that fails here and passes alone has a timing-dependent wait: make it
# event-driven with a bounded timeout (tests/README.md).
#
#   tests/flake_check.sh BUILDDIR [RUNS [SCENARIO...]]
#       RUNS defaults to 5; SCENARIO defaults to every integration test.
#   FLAKE_BURNERS (default: the number of CPUs) busy loops run meanwhile.
# Needs root (the scenarios do); the burners are this script's own
# children, killed by PID on exit.
set -euo pipefail

build=${1:?usage: tests/flake_check.sh BUILDDIR [RUNS [SCENARIO...]]}
runs=${2:-5}
shift $(($# >= 2 ? 2 : 1))
[[ -f $build/build.ninja ]] || { echo "flake_check: $build is not a build dir" >&2; exit 2; }
if (($# == 0)); then
  mapfile -t scenarios < <(meson test -C "$build" --list --suite integration 2>/dev/null |
    sed -n 's/^.* \/ //p')
else
  scenarios=("$@")
fi

burners=()
stop_burners() {
  local p
  for p in "${burners[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${burners[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap stop_burners EXIT
for ((i = 0; i < ${FLAKE_BURNERS:-$(nproc)}; i++)); do
  ( while :; do :; done ) &
  burners+=("$!")
done

logdir=$(mktemp -d /tmp/flake-check.XXXXXX)
declare -A passed
for s in "${scenarios[@]}"; do
  passed[$s]=0
  for ((r = 1; r <= runs; r++)); do
    if meson test -C "$build" --no-rebuild "$s" >"$logdir/$s.$r.out" 2>&1; then
      passed[$s]=$((passed[$s] + 1)) verdict=pass
    else
      verdict=FAIL
      cp "$build/meson-logs/testlog.txt" "$logdir/$s.$r.testlog" 2>/dev/null || true
    fi
    printf 'flake_check: %s run %d/%d: %s (load %s)\n' "$s" "$r" "$runs" "$verdict" \
      "$(cut -d' ' -f1 /proc/loadavg)" >&2
  done
done

bad=0
echo
echo "== flake check: $runs runs each under ${#burners[@]} CPU burners (logs of failures: $logdir)"
for s in "${scenarios[@]}"; do
  printf '%-24s %d/%d passed\n' "$s" "${passed[$s]}" "$runs"
  ((passed[$s] == runs)) || bad=1
done
exit "$bad"
