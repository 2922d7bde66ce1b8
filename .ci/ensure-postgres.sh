#!/usr/bin/env bash
# The PostgresStore tests start a throwaway server from the machine's PostgreSQL server
# binaries (initdb, pg_ctl). Install them when they are missing and this can (root, apt);
# otherwise say so: the tests then skip, and under CI=true they fail.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
    || [ -n "${AION_STORE_PG_BIN:-}" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's postgresql package (server binaries for the PostgresStore tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    exit 0
fi
echo "PostgreSQL server binaries not found: the PostgresStore tests will skip" \
     "(install Debian's postgresql package, or set AION_STORE_PG_BIN)" >&2
