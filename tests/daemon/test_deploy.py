"""The deployment files pass their linters, and the linters catch a broken file."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "e27bridge.service"


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(root / "scripts" / "lint-deploy.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def copy_tree(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "lint-deploy.sh", tmp_path / "scripts")
    shutil.copytree(ROOT / "deploy", tmp_path / "deploy")
    shutil.copy(ROOT / "Dockerfile", tmp_path)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    return tmp_path


def test_deploy_files_pass_systemd_analyze_and_hadolint() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lint_fails_on_a_broken_unit_and_dockerfile(tmp_path: Path) -> None:
    root = copy_tree(tmp_path)
    assert lint(root).returncode == 0
    unit = root / "deploy" / "systemd" / "e27bridge.service"
    unit.write_text(unit.read_text().replace("PrivateTmp=yes", "PrivateTmp=sometimes"))
    result = lint(root)
    assert result.returncode == 1
    assert "e27bridge.service" in result.stderr and "sometimes" in result.stderr
    shutil.copy(UNIT, unit)
    (root / "Dockerfile").write_text(
        "FROM python:3.11-slim\nRUN pip install requests\nCMD e27bridge\n"
    )
    result = lint(root)
    assert result.returncode == 1
    assert "DL3013" in result.stdout


def test_unit_has_the_required_settings() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT)
    service = parser["Service"]
    expected = {
        "Type": "notify",
        "ExecStart": "/usr/local/bin/e27bridge run --config /etc/e27bridge/config.toml",
        "Restart": "on-failure",
        "DynamicUser": "yes",
        "StateDirectory": "e27bridge",
        "ConfigurationDirectory": "e27bridge",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "RestrictRealtime": "yes",
        "RestrictNamespaces": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "UMask": "0077",
        "TimeoutStopSec": "10",
    }
    for key, value in expected.items():
        assert service.get(key) == value, key
    assert int(service["WatchdogSec"]) >= 20
    assert "#LoadCredential=" in UNIT.read_text()
