#!/usr/bin/env bash
# Create .venv (once) and install the pinned requirements into it. Safe to run again.
# PYTHON=python3.12 bash scripts/setup.sh picks the interpreter (3.11 or newer); the first run needs PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# a .venv left half-made (no pip: python3-venv missing on Debian/Ubuntu) is made again, not used as it is
if [ -e .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "note: .venv is incomplete; making it again"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    found=$(command -v "$PYTHON" >/dev/null && "$PYTHON" --version 2>&1 || echo "not found")
    echo "error: catdog needs Python 3.11 or newer; '$PYTHON' is $found." \
      "Run again with PYTHON=python3.11 (or newer) before the command." >&2
    exit 1
  fi
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    echo "error: '$PYTHON -m venv' failed (on Debian/Ubuntu: sudo apt-get install python3-venv)." >&2
    exit 1
  fi
fi
stamp=.venv/.requirements.sha256
# hashlib rather than sha256sum, which stock macOS lacks (it has shasum)
want=$(.venv/bin/python -c "import hashlib; print(hashlib.sha256(open('requirements.txt', 'rb').read()).hexdigest())")
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
