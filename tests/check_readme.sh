#!/usr/bin/env bash
# The README's configuration reference must be exactly what the option
# table prints.  With --fix, rewrites the README section.
set -euo pipefail
vipdnsd=$1
readme=$2
fix=${3:-}
gen=$("$vipdnsd" --help-config-markdown)
current=$(awk '/<!-- config-reference:begin -->/{f=1;next}/<!-- config-reference:end -->/{f=0}f' "$readme")
if [ "$fix" = "--fix" ]; then
  python3 - "$readme" "$gen" <<'PY'
import sys
path, gen = sys.argv[1], sys.argv[2]
s = open(path).read()
b, e = "<!-- config-reference:begin -->", "<!-- config-reference:end -->"
i, j = s.index(b) + len(b), s.index(e)
open(path, "w").write(s[:i] + "\n" + gen + "\n" + s[j:])
PY
  exit 0
fi
if [ "$gen" != "$current" ]; then
  echo "README.md configuration reference is out of date; run:"
  echo "  tests/check_readme.sh $vipdnsd README.md --fix"
  diff <(echo "$current") <(echo "$gen") || true
  exit 1
fi
echo "README configuration reference matches the option table"
