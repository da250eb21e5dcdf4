#!/usr/bin/env bash
# Install e27bridge with the embedded demo broker into .venv and run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[demo]'
exec .venv/bin/e27bridge demo "$@"
