#!/usr/bin/env bash
# Install e27bridge into .venv (or $E27BRIDGE_VENV) and run the demo, saying what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${E27BRIDGE_VENV:-.venv}"
step() { printf '==> %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/python" ]; then
  step "creating the virtual environment $venv"
  python3 -m venv "$venv"
fi
step "installing e27bridge and its dependencies into $venv (the first time takes a minute)"
"$venv/bin/python" -m pip install --progress-bar on -e '.[demo]'
if command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ]; then
  step "mosquitto is installed: the demo starts its own on a free loopback port"
else
  step "mosquitto is not installed: the demo uses the embedded amqtt broker instead" \
       "(for exact MQTT behaviour: sudo apt install mosquitto)"
fi
step "starting the demo (Ctrl-C stops it)"
exec "$venv/bin/e27bridge" demo "$@"
