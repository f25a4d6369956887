#!/usr/bin/env bash
# Stop the hub that deploy/demo.sh started: every user's server, the vault, the idle culler
# and the proxy stop with it. Safe to run when nothing is running.
#   bash deploy/stop.sh              (as the same user that started it: root for the isolated hub)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/lab hub stop "$@"
