#!/usr/bin/env bash
# Chromium for the browser tests (tests/test_browser.py): Debian's chromium and chromium-driver,
# installed with apt-get when missing (idempotent: does nothing when chromium is on PATH).
# Playwright drives this browser (executable_path); its own browser download is not used.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "browser tests will use: $(command -v chromium)"
