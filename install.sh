#!/usr/bin/env bash
# Install dexsim and everything it needs into ./.venv (from scratch on a fresh machine).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, as the pair this machine kind serves (pip takes it from the local disk): the learning extras
# only ask for torch>=2.4, so pip keeps this pair instead of fetching another build.
TORCH_SPEC=${DEXSIM_TORCH_SPEC:-"torch==2.14.1 torchvision==0.29.1"}
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
    # shellcheck disable=SC2086
    .venv/bin/python -m pip install --quiet $TORCH_SPEC
fi
.venv/bin/python -m pip install --quiet -e '.[all,test]'
echo "dexsim installed in $(pwd)/.venv"
