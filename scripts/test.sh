#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run calls this) and what a newcomer runs.
#   sudo ./scripts/test.sh
# Installs missing Debian packages, then: formatting, lints, the architecture rules (core
# crates never depend on tokio/mio/socket2; no module import cycles inside a crate), unit
# tests, interop tests against dig, kdig and Knot, a replay of the fuzz seed corpus, and (as
# root) the Debian package built and installed, and the end-to-end suite in the anycast lab (crates/lab/tests/e2e.rs: BIRD routers, anyns
# sites and clients in network namespaces; each test tears its lab down, also when it fails).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -eq 0 ]]; then
    ./scripts/install-deps.sh
else
    echo "!!! not root: not installing packages; tests needing knot/dig fail if they are missing" >&2
fi
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the fuzz targets compile (their own crate, run with cargo-fuzz; see fuzz/)"
CARGO_TARGET_DIR=target cargo check --manifest-path fuzz/Cargo.toml --bins --locked

step "architecture: core crates have no I/O runtime dependencies"
for core in dns-wire dns-zone dns-auth dns-resolve dns-tsig bgp-wire bgp-session bfd health; do
    cargo metadata --format-version 1 --no-deps --locked | grep -q "\"name\":\"$core\"" || continue
    if cargo tree -p "$core" -e normal --prefix none --locked | grep -E '^(tokio|mio|socket2|hyper) '; then
        echo "error: $core depends on an I/O runtime" >&2
        exit 1
    fi
done

step "architecture: no module import cycles inside a crate"
python3 scripts/check-module-cycles.py --self-test
python3 scripts/check-module-cycles.py

step "the Debian package (cargo-deb)"
./scripts/package-deb.sh
export ANYNS_REQUIRE_DEB=1

if [[ $(id -u) -eq 0 ]]; then
    step "the dashboard's browser test: chromium and Playwright"
    ./scripts/browser-test-deps.sh
    export ANYNS_REQUIRE_BROWSER=1
fi

step "cargo test"
cargo test --workspace --locked

step "all tests passed"
