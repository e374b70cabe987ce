#!/usr/bin/env bash
# JupyterHub's proxy (npm's configurable-http-proxy) for tests/test_hub.py and deploy/, installed
# into the project's environment (.venv/node/, or HUB_NODE_PREFIX), never system-wide. A no-op
# when present. Without npm (or offline) it only warns, and tests/test_hub.py skips; under CI=1
# it fails. JupyterHub itself comes from PyPI with the [dev] extra (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX="${HUB_NODE_PREFIX:-.venv/node}"
VERSION="5.3.0"
if [ -x "$PREFIX/bin/configurable-http-proxy" ]; then
    exit 0
fi
give_up() {
    echo "install-hub.sh: $1; tests/test_hub.py will be skipped" >&2
    if [ "${CI:-}" = "1" ]; then exit 1; fi
    exit 0
}
command -v npm >/dev/null || give_up "npm is missing (Debian: apt-get install nodejs npm)"
mkdir -p "$PREFIX"
npm install --global --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
    "configurable-http-proxy@$VERSION" || give_up "npm could not install configurable-http-proxy"
"$PREFIX/bin/configurable-http-proxy" --version
