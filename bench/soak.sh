#!/usr/bin/env bash
# The soak: one anyns site at 80% of its capacity for MINUTES (default 30) with RRL on, a
# reload every 10 s and an IXFR every 5 s; prints answers/s, losses and PSS every 10 s and
# fails if memory grows more than 5% after the first minute (median of the last 3 minutes
# against the first 3). See bench/soak.py.
#   sudo bench/soak.sh 30
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
    ./scripts/install-deps.sh
fi
cargo build --release --locked -p anyns
exec python3 bench/soak.py "${1:-30}"
