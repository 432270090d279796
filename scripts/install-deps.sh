#!/usr/bin/env bash
# Installs the Debian packages the demo, the tests and the benchmarks use, when missing.
# Needs root (apt-get). Safe to run again.
set -euo pipefail
packages=(knot knot-dnsutils dnsutils nsd bind9 dnsperf bird2 gobgpd frr iproute2 valgrind ldnsutils unbound nftables systemd openssl faketime)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts some of these as services where an init system runs; the tests start their
# own instances on other ports and never use the packaged ones.
