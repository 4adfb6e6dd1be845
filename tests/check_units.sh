#!/usr/bin/env bash
# The shipped systemd units must load: systemd-analyze verify on each unit
# under deploy/systemd/, with its ExecStart pointed at the binary just
# built (verify checks that commands exist and are executable).
#   tests/check_units.sh PATH_TO_VIPDNSD SOURCE_ROOT
set -euo pipefail
vipdnsd=$1 root=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed" >&2; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
rc=0
for u in "$root"/deploy/systemd/*.service; do
  sed "s#/usr/sbin/vipdnsd#$vipdnsd#g" "$u" >"$tmp/${u##*/}"
  if out=$(systemd-analyze verify "$tmp/${u##*/}" 2>&1) && [[ -z $out ]]; then
    echo "ok   ${u##*/}"
  else
    echo "FAIL ${u##*/}: $out"
    rc=1
  fi
done
exit "$rc"
