#!/usr/bin/env bash
# Builds the Debian package vipdns_VERSION_ARCH.deb from this tree, without
# a debian/ directory: a release build installed into a staging root, the
# hardened unit, a commented /etc/vipdns/vipdns.conf (a conffile), man
# pages for vipdnsd(8), vipdnsctl(8) and vipdns.conf(5), the docs and the
# per-cloud recipes; Depends from dpkg-shlibdeps; a system user `vipdns`
# created at install.  Then runs lintian on it when lintian is installed.
#
#   deploy/package.sh [OUT_DIR]          (default: ./dist)
#
# Needs: the build dependencies (deploy/install-deps.sh), dpkg-dev, and
# lintian for the check.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n "s/^  version : '\(.*\)',/\1/p" meson.build | head -1)
arch=$(dpkg --print-architecture)
build=${VD_PKG_BUILD:-$root/build-pkg}
stage=$(mktemp -d)
trap 'rm -rf -- "$stage"' EXIT
pkg=$stage/pkg
mkdir -p "$pkg"

# Debian's hardening flags (stack protector, fortify, full RELRO, bind
# now), as a Debian build of the package would get them; meson reads them
# from the environment at setup, so the package build starts clean.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
rm -rf -- "$build"
CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) CFLAGS=$(dpkg-buildflags --get CFLAGS) \
  LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
  meson setup "$build" --prefix=/usr --buildtype=plain -Db_ndebug=false >/dev/null
ninja -C "$build" src/vipdnsd src/vipdnsctl >/dev/null
DESTDIR=$pkg meson install -C "$build" --no-rebuild --quiet --tags runtime 2>/dev/null ||
  DESTDIR=$pkg meson install -C "$build" --no-rebuild --quiet
# only the two programs belong in the package
find "$pkg" -type f ! -path "$pkg/usr/sbin/vipdnsd" ! -path "$pkg/usr/sbin/vipdnsctl" -delete
find "$pkg" -depth -type d -empty -delete
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg"/usr/sbin/*
chmod 0755 "$pkg"/usr/sbin/*

install -D -m 0644 deploy/systemd/vipdnsd.service "$pkg/lib/systemd/system/vipdnsd.service"
install -D -m 0644 deploy/vipdns.conf "$pkg/etc/vipdns/vipdns.conf"

doc=$pkg/usr/share/doc/vipdns
install -d "$doc/cloud" "$doc/bird-conf"
install -m 0644 README.md docs/*.md "$doc/"
install -m 0644 deploy/cloud/*.md deploy/cloud/cloud-init.yaml "$doc/cloud/"
install -m 0644 bird-conf/README.md bird-conf/router.conf.example "$doc/bird-conf/"
cat >"$doc/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: vipdns

Files: *
Copyright: 2026 the vipdns developers
License: BSD-2-Clause

License: BSD-2-Clause
 Redistribution and use in source and binary forms, with or without
 modification, are permitted provided that the following conditions are
 met:
 .
 1. Redistributions of source code must retain the above copyright
    notice, this list of conditions and the following disclaimer.
 .
 2. Redistributions in binary form must reproduce the above copyright
    notice, this list of conditions and the following disclaimer in the
    documentation and/or other materials provided with the distribution.
 .
 THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS
 IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO,
 THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR
 PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR
 CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL,
 EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
 PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR
 PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF
 LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
 NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS
 SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
EOF
date=$(git log -1 --format=%aD 2>/dev/null || date -R)
printf 'vipdns (%s) unstable; urgency=medium\n\n  * Built from the vipdns tree (%s).\n\n -- vipdns developers <vipdns@example.net>  %s\n' \
  "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$date" |
  gzip -9n >"$doc/changelog.gz"

deploy/man/gen.sh "$build" "$stage/man"
install -d "$pkg/usr/share/man/man8" "$pkg/usr/share/man/man5"
gzip -9n -c "$stage/man/vipdnsd.8" >"$pkg/usr/share/man/man8/vipdnsd.8.gz"
gzip -9n -c "$stage/man/vipdnsctl.8" >"$pkg/usr/share/man/man8/vipdnsctl.8.gz"
gzip -9n -c "$stage/man/vipdns.conf.5" >"$pkg/usr/share/man/man5/vipdns.conf.5.gz"
chmod 0644 "$pkg"/usr/share/man/man*/*.gz

# Depends: what the binaries link, as dpkg-shlibdeps computes it
mkdir -p "$stage/src/debian"
printf 'Source: vipdns\n\nPackage: vipdns\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O "$pkg"/usr/sbin/vipdnsd "$pkg"/usr/sbin/vipdnsctl 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[[ -n $shlibs ]] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d "$pkg/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: vipdns
Version: $version
Architecture: $arch
Maintainer: vipdns developers <vipdns@example.net>
Installed-Size: $size
Depends: $shlibs, adduser
Recommends: bird2
Suggests: strongswan-swanctl, charon-systemd, nftables
Section: net
Priority: optional
Homepage: https://vipdns.example.net/
Description: anycast full-service DNS resolver appliance
 vipdnsd is a recursive, DNSSEC-validating DNS resolver for ISPs and
 cloud network services, built to run as one of several nodes behind a
 shared anycast address.  Each node recurses from the root with an
 embedded libunbound engine, answers cache hits from one cache in every
 data plane (sockets, and an XDP program in the kernel), and has a BIRD 2
 sidecar announce the address over BGP only while the node is healthy, so
 routers spread clients with ECMP and a sick or draining node leaves.
 .
 Tunnels (GRE, route-based IPsec) carry BGP and DNS into cloud VPCs;
 vipdnsctl flushes every node at once, and metrics are exported for
 Prometheus.
EOF
echo /etc/vipdns/vipdns.conf >"$pkg/DEBIAN/conffiles"
cat >"$pkg/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	# the unprivileged user vipdnsd drops to (`user = vipdns`)
	if ! getent passwd vipdns >/dev/null; then
		adduser --system --group --no-create-home --home /var/lib/vipdns \
			--gecos "vipdns resolver" vipdns >/dev/null
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
	fi
fi
exit 0
EOF
cat >"$pkg/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/vipdns
fi
exit 0
EOF
chmod 0755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/postrm"
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles" "$pkg/DEBIAN/md5sums"
find "$pkg" -type d -exec chmod 0755 {} +

deb=$out/vipdns_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "built $deb"
if command -v lintian >/dev/null; then
  echo "lintian:"
  lintian --tag-display-limit 0 "$deb" || true
fi
