#!/usr/bin/env bash
# See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
    ./scripts/install-deps.sh
    # Only the resolver benchmark needs it (a comparison, not a test dependency).
    if ! command -v pdns_recursor >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pdns-recursor >/dev/null
    fi
fi
cargo build --release --locked -p anyns
exec python3 bench/bench.py "$@"
