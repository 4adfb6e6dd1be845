#!/usr/bin/env bash
# deploy/package.sh must build a Debian package that lintian passes
# without errors or warnings, holding the programs, the hardened unit, the
# commented config as a conffile and the three man pages, whose packaged
# vipdnsd accepts its packaged config.
#   tests/check_package.sh SOURCE_ROOT
set -euo pipefail
root=$1
for c in dpkg-deb dpkg-shlibdeps lintian man; do
  command -v "$c" >/dev/null || { echo "missing $c; skipping"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf -- "$tmp"' EXIT
VD_PKG_BUILD=$tmp/build "$root/deploy/package.sh" "$tmp/dist" >"$tmp/out.txt" 2>&1 ||
  { cat "$tmp/out.txt"; echo "FAIL package.sh"; exit 1; }
deb=$(ls "$tmp"/dist/vipdns_*.deb)
rc=0
bad=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -E '^[EW]: ' || true)
if [[ -n $bad ]]; then echo "FAIL lintian:"; echo "$bad"; rc=1; else echo "ok   lintian: no errors or warnings"; fi
list=$(dpkg-deb -c "$deb")
for f in usr/sbin/vipdnsd usr/sbin/vipdnsctl lib/systemd/system/vipdnsd.service etc/vipdns/vipdns.conf \
         usr/share/man/man8/vipdnsd.8.gz usr/share/man/man8/vipdnsctl.8.gz usr/share/man/man5/vipdns.conf.5.gz \
         usr/share/doc/vipdns/copyright usr/share/doc/vipdns/cloud/azure.md; do
  if grep -q " \./$f\$" <<<"$list"; then echo "ok   contains $f"; else echo "FAIL missing $f"; rc=1; fi
done
[[ $(dpkg-deb -I "$deb" conffiles) == /etc/vipdns/vipdns.conf ]] && echo "ok   conffile" || { echo "FAIL conffiles"; rc=1; }
dpkg-deb -I "$deb" control | grep -q '^Depends: .*libunbound8.*adduser' && echo "ok   Depends" || { echo "FAIL Depends"; rc=1; }
dpkg-deb -x "$deb" "$tmp/root"
if "$tmp/root/usr/sbin/vipdnsd" -t -c "$tmp/root/etc/vipdns/vipdns.conf" >/dev/null; then echo "ok   packaged vipdnsd -t accepts the packaged config"
else echo "FAIL packaged config"; rc=1; fi
for m in man8/vipdnsd.8 man8/vipdnsctl.8 man5/vipdns.conf.5; do
  w=$(MANWIDTH=80 man --warnings -l "$tmp/root/usr/share/man/$m.gz" 2>&1 >/dev/null || true)
  if [[ -z $w ]]; then echo "ok   $m renders without warnings"; else echo "FAIL $m: $w"; rc=1; fi
done
grep -q 'tunnel' <(zcat "$tmp/root/usr/share/man/man5/vipdns.conf.5.gz") && echo "ok   vipdns.conf(5) documents tunnel" || { echo "FAIL vipdns.conf(5)"; rc=1; }
exit "$rc"
