#!/usr/bin/env bash
# See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then ./scripts/install-deps.sh; fi
cargo build --release --locked -p anyns
exec python3 bench/bench.py "$@"
