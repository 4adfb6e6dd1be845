#!/usr/bin/env bash
# Renders the man pages whose content comes from the programs themselves:
# vipdns.conf(5) from the option table (vipdnsd --help-config) and
# vipdnsctl(8)'s command list (vipdnsctl --help).  One source of truth.
#   deploy/man/gen.sh BUILD_DIR OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1 out=$2
mkdir -p "$out"
esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/" -e 's/-/\\-/g'; }

cp "$here/vipdnsd.8" "$out/vipdnsd.8"

cmds=$("$build/src/vipdnsctl" --help 2>&1 | awk '/^commands:/{f=1;next} f && /^  [a-z]/' |
  sed 's/^  //' | while IFS= read -r l; do
    name=$(awk '{print $1}' <<<"$l")
    rest=$(sed -E -e 's/^[^ ]+ +//' -e 's/ {2,}/: /' <<<"$l")
    printf '.TP\n.B %s\n%s\n' "$name" "$(esc <<<"$rest")"
  done)
awk -v c="$cmds" '{ if ($0 == "@COMMANDS@") print c; else print }' "$here/vipdnsctl.8.in" >"$out/vipdnsctl.8"

{
  cat <<'HDR'
.TH VIPDNS.CONF 5 "2026-12-02" "vipdns 0.1.0" "File Formats"
.SH NAME
vipdns.conf \- vipdnsd configuration file
.SH DESCRIPTION
.I /etc/vipdns/vipdns.conf
holds one
.I option
=
.I value
per line; # starts a comment, values may be double-quoted
(\e" and \e\e escape inside quotes).  Repeatable options take one value
per line; the first line of a list replaces its default.  Where Unbound
has an option for the same thing, the name and meaning are Unbound's.
An invalid file makes
.B vipdnsd
exit with the file, the line and the reason;
.B vipdnsd \-t
checks a file without starting.
.SH OPTIONS
Each option with its default, its type, and what it does.
HDR
  "$build/src/vipdnsd" --help-config | awk 'NR > 3' | while IFS= read -r l; do
    if [[ -z $l ]]; then continue
    elif [[ $l != "    "* ]]; then
      name=${l%% = *}; def=${l#* = }; [[ $l == *" = "* ]] || def=""
      printf '.TP\n.B %s\n' "$(esc <<<"$name")"
      printf 'Default: %s.\n.br\n' "$(esc <<<"${def:-(none)}")"
    else
      esc <<<"${l#    }"; printf '.br\n'
    fi
  done
  cat <<'FTR'
.SH FILES
.I /etc/vipdns/vipdns.conf
.SH SEE ALSO
.BR vipdnsd (8),
.BR vipdnsctl (8),
.BR unbound.conf (5),
.BR bird (8)
FTR
} >"$out/vipdns.conf.5"
