#!/usr/bin/env bash
# Creates <repo>/.venv with torch (CPU), transformers, peft, safetensors, numpy
# for the Python reference side (fixtures, matmul benchmark). CI never runs this.
# Idempotent: an existing venv that already imports everything is left alone.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
PKGS=(torch transformers peft safetensors numpy)

check() {
  "$PY" - <<'PY' 2>/dev/null
import torch, transformers, peft, safetensors, numpy
print("torch", torch.__version__, "transformers", transformers.__version__,
      "peft", peft.__version__, "safetensors", safetensors.__version__, "numpy", numpy.__version__)
PY
}

if [ -x "$PY" ] && check; then
  echo "venv ready: $PY"
  exit 0
fi

if [ ! -x "$PY" ]; then
  python3 -m venv "$VENV" || python3 -m venv --without-pip "$VENV"
fi

# First local index from pip config (index-url, else the first extra-index-url).
INDEX="$(pip config get global.index-url 2>/dev/null || true)"
if [ -z "$INDEX" ]; then
  INDEX="$(pip config get global.extra-index-url 2>/dev/null | awk '{print $1}' || true)"
fi
INDEX="${INDEX:-file:///opt/pypi/simple}"

ok=0
if "$PY" -m pip --version >/dev/null 2>&1; then
  if "$PY" -m pip install --index-url "$INDEX" "${PKGS[@]}"; then
    ok=1
  fi
fi

if [ "$ok" != 1 ]; then
  echo "pip install failed; falling back to apt python3-torch" >&2
  apt-get install -y python3-torch libopenblas0-pthread
  rm -rf "$VENV"
  python3 -m venv --system-site-packages "$VENV"
  "$PY" -m pip install --index-url "$INDEX" transformers peft safetensors numpy || true
fi

check
echo "venv ready: $PY"
