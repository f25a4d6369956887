#!/usr/bin/env bash
# The demo lab from a fresh machine, in one command: the Python environment, JupyterHub's
# proxy, the demo datasets and their released twins, the vault's account and the lab's
# directories, demo accounts with printed passwords, then the hub itself in the foreground
# on http://127.0.0.1:8000/ (Ctrl-C, or `bash deploy/stop.sh` from another terminal, stops
# it with every user's server). Safe to run again: it redoes only what is missing.
#
#   sudo bash deploy/demo.sh               as root: each user's server runs under its own Unix account
#   bash deploy/demo.sh --no-isolation     without root (refused as root): a demo where users are NOT isolated
#   bash deploy/demo.sh --prepare-only     everything but starting the hub
#   bash deploy/demo.sh --rows 5000        other options go to `lab demo` (rows per demo dataset)
#   LAB_ROOT=/some/dir bash deploy/demo.sh keep the lab's files elsewhere (default /srv/lab as root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

isolation=on
start=yes
demo_args=()
for arg in "$@"; do
    case "$arg" in
        --no-isolation) isolation=off ;;
        --prepare-only) start=no ;;
        *) demo_args+=("$arg") ;;
    esac
done
export LAB_HUB_ISOLATION="${LAB_HUB_ISOLATION:-$isolation}"

shout() { printf '\n%s\n%s\n%s\n\n' "$(printf '!%.0s' {1..78})" "$1" "$(printf '!%.0s' {1..78})" >&2; }
if [[ "$LAB_HUB_ISOLATION" == on && $EUID -ne 0 ]]; then
    echo "lab: the hub runs each user's server under their own Unix account, which needs root:" >&2
    echo "       sudo bash deploy/demo.sh" >&2
    echo "     or, for a look around on your own machine with users NOT isolated from each other:" >&2
    echo "       bash deploy/demo.sh --no-isolation" >&2
    exit 1
fi
if [[ "$LAB_HUB_ISOLATION" != on && $EUID -eq 0 ]]; then
    echo "lab: refusing the demo mode without isolation as root: every user's server would run as root." >&2
    echo "     As root, run with isolation (each user gets their own Unix account):" >&2
    echo "       sudo bash deploy/demo.sh" >&2
    echo "     or run the demo mode from an unprivileged account:  bash deploy/demo.sh --no-isolation" >&2
    exit 1
fi
if [[ "$LAB_HUB_ISOLATION" != on ]]; then
    shout "!! DEMO MODE WITHOUT ISOLATION: every user's server runs as $(id -un); users can read
!! each other's files, the raw data and the ledger, and spend each other's budgets."
fi

source deploy/ensure-env.sh
bash deploy/ensure-proxy.sh
lab policy validate
lab hub check
status=0
lab demo "${demo_args[@]}" || status=$?
if [[ $status -eq 3 ]]; then  # a twin failed a release gate (printed above): the others still serve
    echo "lab: going on without the twins that were not released (their datasets have no twin in the hub)" >&2
elif [[ $status -ne 0 ]]; then
    exit "$status"
fi
lab hub prepare
echo
lab hub demo-accounts
if [[ "$start" == no ]]; then
    echo "Prepared. Start the hub with:  bash deploy/demo.sh   (stop it with bash deploy/stop.sh)"
    exit 0
fi
if lab hub status >/dev/null; then
    lab hub status
    echo "Stop it with:  bash deploy/stop.sh"
    exit 0
fi
echo "Starting the hub (Ctrl-C or bash deploy/stop.sh stops it)..."
exec jupyterhub -f jupyterhub_config.py
