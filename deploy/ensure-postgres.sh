#!/usr/bin/env bash
# Make sure Debian's PostgreSQL server binaries (initdb, pg_ctl) are installed.
#
# The tests and benchmarks start their own throw-away servers (tests/support/postgres.py),
# so this script only installs; it starts nothing. Idempotent: when initdb and pg_ctl are
# already on PATH or under /usr/lib/postgresql/<version>/bin, it does nothing.
#
# On a fresh machine it tells Debian's postgresql-common not to create (and so not to
# start) the default "main" cluster, which nothing here uses. Run as root on Debian 12.
set -euo pipefail

find_pg_bin() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if bin="$(find_pg_bin)"; then
    echo "lab: PostgreSQL server binaries found in $bin" >&2
    exit 0
fi

if [[ $EUID -ne 0 ]]; then
    echo "lab: PostgreSQL is not installed, and installing it needs root:" >&2
    echo "       sudo bash $0" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "lab: PostgreSQL is not installed and this is not a Debian-like system;" >&2
    echo "     install the PostgreSQL server (initdb, pg_ctl) with the system's package manager." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "lab: installing Debian's PostgreSQL server" >&2
# Update the package lists once, only if apt has never fetched them (or cannot see the package).
if ! apt-cache show postgresql >/dev/null 2>&1; then
    apt-get update -qq
fi
# No default cluster: postgresql-common reads this file when the server package is configured.
if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/lab-no-main-cluster.conf
fi
apt-get install -y -qq postgresql >/dev/null

if bin="$(find_pg_bin)"; then
    echo "lab: PostgreSQL server binaries installed in $bin" >&2
else
    echo "lab: installed the postgresql package, but found no initdb/pg_ctl under /usr/lib/postgresql" >&2
    exit 1
fi
