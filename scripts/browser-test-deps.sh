#!/usr/bin/env bash
# What the dashboard's browser test needs: Debian's chromium and python3-venv (apt-get,
# as root), and Playwright (PyPI, pinned) in a virtualenv at target/test-venv. Playwright
# drives /usr/bin/chromium; no browser is downloaded. Kept out of install-deps.sh so the
# demo does not install a browser. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
for p in chromium python3-venv; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
PLAYWRIGHT_VERSION=1.65.2
venv=target/test-venv
if ! "$venv/bin/python" -c "import playwright" 2>/dev/null ||
    ! "$venv/bin/pip" show playwright 2>/dev/null | grep -q "^Version: $PLAYWRIGHT_VERSION$"; then
    echo "==> Playwright $PLAYWRIGHT_VERSION in $venv"
    mkdir -p target
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION"
fi
