#!/usr/bin/env bash
# Builds the Debian package target/debian/anyns_VERSION-1_amd64.deb: anyns and anyns-lab
# (release), /etc/anyns/anyns.toml (a conffile), the systemd unit (installed, not enabled)
# and the README. The packager is cargo-deb (installed from crates.io when missing);
# the package's metadata is in crates/daemon/Cargo.toml.
#   ./scripts/package-deb.sh && sudo dpkg -i target/debian/anyns_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
    echo "==> installing cargo-deb $CARGO_DEB_VERSION (crates.io)"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi
cargo build --release --locked -p anyns -p anyns-lab
rm -f target/debian/anyns_*.deb
cargo deb -p anyns --no-build --locked --strip
ls target/debian/anyns_*.deb
