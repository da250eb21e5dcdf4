#!/usr/bin/env bash
# Opt-in: Home Assistant's own code checks our discovery payloads (tests/mqtt/test_home_assistant.py).
# Installs Home Assistant 2025.4.4 into .ha-venv with a Python 3.13 (HA needs it; set
# HA_BASE_PYTHON, default: pyenv's 3.13.0 or python3.13). Not part of CI: the install takes
# about 5 minutes cold (measured 4 min 39 s), beyond the CI budget. Needs .venv (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

base="${HA_BASE_PYTHON:-}"
if [ -z "$base" ]; then
  for candidate in "$HOME/.pyenv/versions/3.13.0/bin/python" "$(command -v python3.13 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then base="$candidate"; break; fi
  done
fi
if [ -z "$base" ]; then
  echo "ha-check: no Python 3.13 found (set HA_BASE_PYTHON)" >&2
  exit 2
fi
if ! .ha-venv/bin/python -c 'import homeassistant' 2>/dev/null; then
  "$base" -m venv .ha-venv
  .ha-venv/bin/python -m pip install -q 'homeassistant==2025.4.4'
fi
E27BRIDGE_HA_PYTHON="$PWD/.ha-venv/bin/python" .venv/bin/pytest -q -p no:cacheprovider -rs \
  tests/mqtt/test_home_assistant.py "$@"
