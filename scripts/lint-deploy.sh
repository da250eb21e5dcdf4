#!/usr/bin/env bash
# Static checks of the deployment files: the systemd unit and the Dockerfile.
# Any warning about our own files fails the check (systemd-analyze itself exits 0 on them).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

if [ -f deploy/systemd/e27bridge.service ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # systemd-analyze wants the ExecStart binary to exist; point it at the venv's.
  sed "s#^ExecStart=/usr/local/bin/e27bridge#ExecStart=$PWD/.venv/bin/e27bridge#" \
    deploy/systemd/e27bridge.service >"$tmp/e27bridge.service"
  out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/e27bridge.service" 2>&1) || {
    echo "$out"; echo "lint-deploy: systemd-analyze verify failed" >&2; status=1; }
  if grep -F "$tmp/e27bridge.service" <<<"$out" >/dev/null; then
    grep -F "$tmp/e27bridge.service" <<<"$out" | sed "s#$tmp/#deploy/systemd/#" >&2
    echo "lint-deploy: deploy/systemd/e27bridge.service has warnings" >&2
    status=1
  fi
fi

if [ -f Dockerfile ]; then
  hadolint=""
  if [ -x .venv/bin/hadolint ]; then hadolint=.venv/bin/hadolint
  elif command -v hadolint >/dev/null 2>&1; then hadolint=$(command -v hadolint)
  fi
  if [ -z "$hadolint" ]; then
    echo "lint-deploy: hadolint not found (pip install -e '.[dev]' provides it)" >&2
    status=1
  elif ! "$hadolint" --failure-threshold info Dockerfile; then
    echo "lint-deploy: Dockerfile has hadolint findings" >&2
    status=1
  fi
fi

exit "$status"
