"""``e27bridge status`` reading health files: details, an older file without them, none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from e27bridge.cli import main
from e27bridge.daemon.health import PanelStatus, health_path, read_health, write_health

from .conftest import SCRIPT, clean_env, terminal_sigint


def test_status_json_round_trips_what_the_daemon_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = PanelStatus(
        mac="0050C2E27001",
        state="disconnected",
        host="192.168.1.50",
        port=2101,
        rtt_ms=12.5,
        queue_depth=3,
        reconnects=2,
        last_error="connect to 192.168.1.50:2101 failed",
        last_event="armed area=1",
        last_event_at=1_700_000_000.0,
    )
    write_health(
        tmp_path, mqtt_connected=True, panels={"home": "disconnected"}, status={"home": row}
    )
    assert read_health(tmp_path).status == {"home": row}
    assert main(["status", "--state-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["daemon"]["pid"] == os.getpid() and out["daemon"]["running"] is True
    assert out["panels"] == [{"id": "home", **row.to_dict()}]

    assert main(["status", "--state-dir", str(tmp_path)]) == 0
    line = capsys.readouterr().out.splitlines()[3]
    assert line.split()[:7] == [
        "home",
        "00:50:C2:E2:70:01",
        "disconnected",
        "192.168.1.50:2101",
        "12",
        "ms",
        "3",
    ]


def test_status_of_a_file_without_details_shows_the_states(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_health(tmp_path, mqtt_connected=False, panels={"barn": "link_required"})
    data = json.loads(health_path(tmp_path).read_text())
    data.pop("status")
    data["status"] = {"barn": {"mac": "x", "state": "link_required", "port": "not a number"}}
    health_path(tmp_path).write_text(json.dumps(data))
    assert main(["status", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "MQTT NOT connected" in out
    assert out.splitlines()[3].split()[:4] == ["barn", "x", "link_required", "-"]


def test_status_without_a_daemon_exits_1_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--state-dir", str(tmp_path)]) == 1
    assert "is the daemon running?" in capsys.readouterr().err
    assert main(["status", "--state-dir", str(tmp_path), "--watch", "0"]) == 2


def test_status_watch_redraws_until_ctrl_c_and_exits_0(tmp_path: Path) -> None:
    write_health(tmp_path, mqtt_connected=True, panels={"home": "ready"})
    with terminal_sigint():
        proc = subprocess.Popen(
            [str(SCRIPT), "status", "--state-dir", str(tmp_path), "--watch", "0.1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(),
        )
    try:
        assert proc.stdout is not None
        heads = 0
        while heads < 2:  # the table, and again
            line = proc.stdout.readline()
            assert line, "status --watch ended by itself"
            heads += line.startswith(b"e27bridge ")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        proc.kill()
        proc.wait()
