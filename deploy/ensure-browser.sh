#!/usr/bin/env bash
# Make sure Debian's Chromium is installed: the browser tests drive it through Playwright
# (executable /usr/bin/chromium, headless). Idempotent; needs root on a fresh machine.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
    exit 0
fi
if [[ $EUID -ne 0 ]]; then
    echo "lab: Chromium is not installed, and installing it needs root:  sudo bash $0" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "lab: installing Debian's Chromium for the browser tests" >&2
if ! apt-cache show chromium >/dev/null 2>&1; then
    apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
