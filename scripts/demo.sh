#!/usr/bin/env bash
# The main job: the anycast lab demo. Installs what is missing (bird2, iproute2, ldnsutils,
# ...), builds anyns and anyns-lab (release), brings up the resolver lab (lab/resolver.toml:
# three BIRD 2 routers, three authoritative and two resolver sites, five clouds, three
# clients, a hidden primary and the lab's own signed DNS tree, all in network namespaces with
# documentation addresses only), shows catchment, a site failing and coming back, a drain, a
# zone change, the resolver cloud and the fleet view (anyns fleet status), and tears the lab
# down — also on Ctrl-C or failure.
#   sudo ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
    echo "the lab needs root (network namespaces, BIRD): sudo $0" >&2
    exit 1
fi
./scripts/install-deps.sh

echo "==> building (release)"
cargo build --release --locked -p anyns -p anyns-lab
lab=target/release/anyns-lab
run_dir=/run/anyns-lab-demo

# Teardown by the lab's own records (pid files, marked namespaces): safe to run twice.
cleanup() { "$lab" --run-dir "$run_dir" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'echo; echo "interrupted: tearing the lab down"; exit 130' INT TERM

"$lab" --run-dir "$run_dir" demo --topology lab/resolver.toml
