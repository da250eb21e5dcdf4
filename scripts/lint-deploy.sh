#!/usr/bin/env bash
# Static checks of the deployment files: the systemd unit and the Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f deploy/systemd/e27bridge.service ]; then
  tmp=$(mktemp -d)
  # systemd-analyze wants the ExecStart binary to exist; point it at the venv's.
  sed "s#^ExecStart=/usr/local/bin/e27bridge#ExecStart=$PWD/.venv/bin/e27bridge#" \
    deploy/systemd/e27bridge.service >"$tmp/e27bridge.service"
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$tmp/e27bridge.service"
  rm -rf "$tmp"
fi
if command -v hadolint >/dev/null 2>&1; then
  hadolint Dockerfile
fi
