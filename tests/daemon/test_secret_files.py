"""A world-readable secret file is warned about by check-config and at daemon start."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from mqtt.conftest import Broker

from .test_commands import cli

MAC = "0050C2E27001"


def write_config(tmp_path: Path, mode: int, mqtt_port: int = 1) -> Path:
    secret = tmp_path / "passphrase"
    secret.write_text("a-link-passphrase\n")
    secret.chmod(mode)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mqtt]\nport = {mqtt_port}\n[bridge]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[panels]]\nid = "home"\nmac = "{MAC}"\nhost = "127.0.0.1"\nport = 9\n'
        f'access_code_file = "{secret}"\npassphrase_file = "{secret}"\n'
    )
    return config


def test_check_config_warns_about_a_world_readable_secret_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, 0o644)
    result = cli("check-config", "--quiet", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "panels[home].passphrase_file" in result.stderr
    assert "readable by every user" in result.stderr
    assert "a-link-passphrase" not in result.stderr + result.stdout
    (tmp_path / "passphrase").chmod(0o600)
    quiet = cli("check-config", "--quiet", "--config", str(config))
    assert quiet.returncode == 0 and "readable by every user" not in quiet.stderr


async def test_the_daemon_warns_at_start_and_runs(tmp_path: Path) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        config = write_config(tmp_path, 0o444, broker.port)  # a Docker secret's usual mode
        log = tmp_path / "daemon.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "e27bridge", "run", "--config", str(config),
                stdout=out, stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip

        async def warned() -> None:
            while "secret_file_world_readable" not in log.read_text(errors="replace"):
                assert proc.returncode is None, log.read_text(errors="replace")
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(warned(), 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        text = log.read_text(errors="replace")
        assert "panels[home].passphrase_file" in text
        assert "a-link-passphrase" not in text
    finally:
        broker.stop()
