#!/usr/bin/env bash
# Make sure JupyterHub's proxy, configurable-http-proxy (npm), is installed.
#
# JupyterHub starts the proxy itself; this script only installs it. Idempotent: when
# `configurable-http-proxy` is already on PATH it does nothing. The hub tests
# (tests/service/test_hub.py) skip with this command when the proxy is missing.
set -euo pipefail

if command -v configurable-http-proxy >/dev/null 2>&1; then
    echo "lab: configurable-http-proxy found at $(command -v configurable-http-proxy)" >&2
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "lab: configurable-http-proxy needs node and npm; install them (node 20 works), then run:" >&2
    echo "       bash $0" >&2
    exit 1
fi
# A global install writes under npm's prefix (/usr or /usr/local), which needs root.
prefix="$(npm config get prefix 2>/dev/null)"
if [[ ! -w "$prefix" ]]; then
    echo "lab: installing configurable-http-proxy into $prefix needs root:" >&2
    echo "       sudo bash $0" >&2
    exit 1
fi

echo "lab: installing configurable-http-proxy 4 from npm" >&2
npm install -g --no-fund --no-audit "configurable-http-proxy@4" >/dev/null
if command -v configurable-http-proxy >/dev/null 2>&1; then
    echo "lab: configurable-http-proxy installed at $(command -v configurable-http-proxy)" >&2
else
    echo "lab: npm installed configurable-http-proxy, but it is not on PATH; add $prefix/bin to PATH" >&2
    exit 1
fi
