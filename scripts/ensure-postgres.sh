#!/bin/sh
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed, from Debian's
# own packages.  The integration tests start a throwaway server from them in a temp directory.
# Idempotent and quiet: does nothing when initdb is already there.
set -eu

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ensure-postgres: PostgreSQL is not installed and this user cannot install it;" >&2
        echo "  run as root: apt-get install postgresql" >&2
        exit 1
    fi
else
    SUDO=""
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# The server package only: the cluster it would create is not used (tests run their own).
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "ensure-postgres: apt-get finished but initdb is still missing" >&2
    exit 1
fi
