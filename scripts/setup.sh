#!/usr/bin/env bash
# Install bon and everything it needs into ./.venv, then create the embedded store under ./.bon/.
#
# torch: on a machine with an NVIDIA GPU whose venv already has a CUDA torch, that torch is kept. Otherwise the
# CPU build is installed: from a local wheel directory when pip has one (PIP_FIND_LINKS), else from PyTorch's CPU
# index, so a CPU machine never pulls a multi-GB CUDA build. Override with BON_TORCH_SPEC / BON_TORCH_INDEX_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip)
"${PIP[@]}" install -q --upgrade pip

if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  spec=${BON_TORCH_SPEC:-torch==2.13.0}
  if [ -n "${BON_TORCH_INDEX_URL:-}" ]; then
    "${PIP[@]}" install -q "$spec" --index-url "$BON_TORCH_INDEX_URL"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    "${PIP[@]}" install -q "$spec"                       # CUDA build from PyPI
  elif ls "${PIP_FIND_LINKS:-/opt/wheels}"/torch-*+cpu-*.whl >/dev/null 2>&1; then
    "${PIP[@]}" install -q "$spec" --find-links "${PIP_FIND_LINKS:-/opt/wheels}"
  else
    "${PIP[@]}" install -q "$spec" --index-url https://download.pytorch.org/whl/cpu
  fi
fi

"${PIP[@]}" install -q -e ".[dev,dask,minilm,docker]"
.venv/bin/bon init
echo "bon is installed: activate with '. .venv/bin/activate', then run 'bon demo'."
