#!/usr/bin/env bash
# Make sure the project's Python environment exists and matches pyproject.toml.
#
# Idempotent: the venv (.venv, beside this repository's pyproject.toml) is rebuilt
# only when pyproject.toml changes (pip then installs what is missing). torch is installed first, as the CPU build,
# so that SDV's dependency on it never resolves to a multi-GB CUDA build.
# Source it (". deploy/ensure-env.sh") or run it; it prints where the venv is.
set -euo pipefail

LAB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_VENV="${LAB_VENV:-$LAB_REPO/.venv}"
# Debian's Python by default: every Unix account can run it (hub users' servers and
# kernels run from this venv), unlike an interpreter under root's home.
PYTHON="${LAB_PYTHON:-/usr/bin/python3.11}"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3.11 || command -v python3)"

stamp_of() { { cat "$LAB_REPO/pyproject.toml"; echo "$PYTHON"; } | sha256sum | cut -c1-16; }

if [[ ! -f "$LAB_VENV/.lab-stamp" || "$(cat "$LAB_VENV/.lab-stamp")" != "$(stamp_of)" ]]; then
    echo "lab: preparing the Python environment in $LAB_VENV (first run takes a few minutes)" >&2
    if ! "$PYTHON" -m venv --help >/dev/null 2>&1 && [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv python3-dev >/dev/null
    fi
    # Keep an existing venv and let pip add what changed: deleting it under running
    # servers and kernels would break them.
    [[ -x "$LAB_VENV/bin/python" ]] || "$PYTHON" -m venv "$LAB_VENV"
    "$LAB_VENV/bin/pip" install --quiet --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
    "$LAB_VENV/bin/pip" install --quiet "torch==2.13.0" 2>&1 | grep -v "is ignored" >&2 || true
    "$LAB_VENV/bin/pip" install --quiet -e "$LAB_REPO[test]" 2>&1 | grep -v "is ignored" >&2 || true
    "$LAB_VENV/bin/python" -c "import lab, synth, sdv, opendp" \
        || { echo "lab: the Python environment failed to install (see above)" >&2; exit 1; }
    stamp_of > "$LAB_VENV/.lab-stamp"
fi
export PATH="$LAB_VENV/bin:$PATH"
