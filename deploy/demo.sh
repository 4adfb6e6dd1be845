#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): installs
# dependencies, builds vipdns, brings up the local lab (authoritative
# hierarchy on NSD, resolver node(s) on the VIP, a client) and shows real
# queries answered through the VIP.  The lab stays up for queries by hand;
# `tests/lab/lab.sh down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
./deploy/build.sh build
exec tests/lab/demo.sh "$PWD/build/src/vipdnsd" "$@"
