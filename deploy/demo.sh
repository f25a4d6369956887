#!/usr/bin/env bash
# The demo lab, from a fresh machine: Python environment, demo datasets, released twins.
#   bash deploy/demo.sh               prepare everything (safe to run again)
#   LAB_ROOT=/some/dir bash deploy/demo.sh   keep the lab's files elsewhere (default /srv/lab as root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source deploy/ensure-env.sh
lab policy validate
lab demo "$@"
echo
echo "Twins are ready. Try:  .venv/bin/lab twin list   and   .venv/bin/lab twin card welfare"
