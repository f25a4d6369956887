#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs pytest.
#   bash deploy/test.sh            everything
#   bash deploy/test.sh -k ledger  extra arguments go to pytest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source deploy/ensure-env.sh
bash deploy/ensure-postgres.sh
if [[ -x deploy/ensure-proxy.sh ]]; then bash deploy/ensure-proxy.sh; fi
bash deploy/ensure-browser.sh
exec python -m pytest "$@"
