#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (as root):
# installs dependencies, builds a normal and an ASan+UBSan tree, and runs
# every suite (unit, fuzz-replay, integration, ...) in both.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh

# Leaks inside libunbound/libevent at exit are theirs, not ours; the
# suppressions keep LeakSanitizer pointed at our code.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
run_tree() {
  local dir=$1; shift
  echo "=== build $dir ($*)"
  ./deploy/build.sh "$dir" "$@"
  echo "=== test $dir"
  if ! meson test -C "$dir" --print-errorlogs --num-processes 2; then
    status=1
  fi
}

run_tree build
run_tree build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

if [ "$status" -ne 0 ]; then
  echo "test suite FAILED"
else
  echo "test suite passed"
fi
exit "$status"
