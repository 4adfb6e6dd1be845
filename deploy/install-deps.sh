#!/usr/bin/env bash
# Installs, from Debian's archive, everything vipdns needs to build, run its
# lab, its tests and its benchmarks. Idempotent; run as root on Debian 12.
set -euo pipefail

packages=(
  # build
  build-essential meson ninja-build pkg-config clang llvm libclang-rt-14-dev
  # libraries the daemon links
  libunbound-dev libevent-dev liburcu-dev libssl-dev libbpf-dev bpftool libelf-dev zlib1g-dev
  libmicrohttpd-dev
  # unit tests
  libcriterion-dev
  # lab: authoritative server, signing, routing, clients, peers for benchmarks
  nsd ldnsutils bird2 dnsutils knot-dnsutils dnsperf unbound iproute2 procps
  # cloud lab: user-space GRE (socat over TUN), the gateway's filter and
  # the MSS clamp check (nftables), IPsec (strongSwan, kernel-libipsec)
  socat nftables strongswan-charon strongswan-swanctl libcharon-extra-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  # benchmarks: profiling (benchmarks/bench_resolver.sh with BENCH_PERF=1)
  linux-perf
  # operations tests: promtool (metrics format), the status page in a
  # headless browser, HTTP scrapes, certificates for cluster TLS
  prometheus chromium curl openssl
  # deploy: systemd-analyze verify on the shipped units; the Debian
  # package (dpkg-shlibdeps, lintian); the recipes' check (YAML)
  systemd dpkg-dev lintian python3-yaml
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: must run as root" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Packaged daemons (unbound, nsd, bird) must not start on install: the lab
  # and tests run their own instances and need port 53 on loopback free.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    created_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
fi

# Stop packaged instances that may have started anyway (e.g. installed earlier).
for svc in unbound nsd bird; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
    systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
exit 0
