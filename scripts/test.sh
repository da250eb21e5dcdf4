#!/usr/bin/env bash
# Install everything the test suite needs into .venv and run every check CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The Debian package starts a broker on 1883; the tests start their own.
  ($SUDO systemctl disable --now mosquitto || $SUDO service mosquitto stop || true) >/dev/null 2>&1
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,dev]'
export PATH="$PWD/.venv/bin:$PATH"

ruff check src tests bench
ruff format --check src tests bench
mypy --strict src
bash scripts/lint-deploy.sh
# The fuzz tests' full budget (over 100,000 cases, tests/fuzzing.py); "quick" runs a tenth.
export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
# Two workers (pytest-xdist): most of the suite waits on brokers, daemons and panels, so two
# run side by side in about half the time; worksteal evens out the long reliability tests.
pytest -q -p no:cacheprovider -n 2 --dist worksteal "$@"
# Proves the benchmark suite runs (under 2 minutes); it asserts nothing about speed.
python -m bench --quick --out "$(mktemp -d)"

# The live deployment checks: systemd in a booted container, the Docker image on a real
# engine (needs root; several minutes on a cold cache). E27_DEPLOY_CHECK=0 skips them.
if [ "${E27_DEPLOY_CHECK:-1}" = 0 ]; then
  echo "deploy-check: skipped (E27_DEPLOY_CHECK=0)"
elif [ "$(id -u)" != 0 ]; then
  echo "deploy-check: skipped (needs root)"
else
  bash scripts/deploy-check.sh
fi
