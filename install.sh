#!/usr/bin/env bash
# Install dexsim and everything it needs into ./.venv (from scratch on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[all,test]'
echo "dexsim installed in $(pwd)/.venv"
