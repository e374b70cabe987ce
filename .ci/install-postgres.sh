#!/usr/bin/env bash
# PostgreSQL for the distributed-grading tests (tests/test_distributed.py: a gradebook kept in a
# server database): Debian's postgresql, installed with apt-get when its server programs are
# missing (idempotent). The tests start their own server as the `postgres` user on a free
# localhost port and stop it; nothing here starts a server.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
echo "database tests will use: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
