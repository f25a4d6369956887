#!/usr/bin/env bash
# Make sure the project's Python environment exists and matches pyproject.toml.
#
# Idempotent: the venv (.venv, beside this repository's pyproject.toml) is rebuilt
# only when pyproject.toml changes. torch is installed first, as the CPU build,
# so that SDV's dependency on it never resolves to a multi-GB CUDA build.
# Source it (". deploy/ensure-env.sh") or run it; it prints where the venv is.
set -euo pipefail

LAB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_VENV="${LAB_VENV:-$LAB_REPO/.venv}"
PYTHON="${LAB_PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

stamp_of() { sha256sum "$LAB_REPO/pyproject.toml" | cut -c1-16; }

if [[ ! -f "$LAB_VENV/.lab-stamp" || "$(cat "$LAB_VENV/.lab-stamp")" != "$(stamp_of)" ]]; then
    echo "lab: preparing the Python environment in $LAB_VENV (first run takes a few minutes)" >&2
    "$PYTHON" -m venv "$LAB_VENV"
    "$LAB_VENV/bin/pip" install --quiet --upgrade pip 2>&1 | grep -v "is ignored" >&2 || true
    "$LAB_VENV/bin/pip" install --quiet "torch==2.13.0" 2>&1 | grep -v "is ignored" >&2 || true
    "$LAB_VENV/bin/pip" install --quiet -e "$LAB_REPO[test]" 2>&1 | grep -v "is ignored" >&2 || true
    "$LAB_VENV/bin/python" -c "import lab, synth, sdv, opendp" \
        || { echo "lab: the Python environment failed to install (see above)" >&2; exit 1; }
    stamp_of > "$LAB_VENV/.lab-stamp"
fi
export PATH="$LAB_VENV/bin:$PATH"
