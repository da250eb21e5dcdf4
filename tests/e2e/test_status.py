"""``e27bridge status`` against a running ``e27bridge run`` (simulator, mosquitto)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from .conftest import PANEL, H, StackFactory

STATUS = [sys.executable, "-m", "e27bridge", "status"]


async def status(config: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *STATUS,
        "--config",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def panel_row(config: Path, until: Any, timeout: float = 10) -> dict[str, Any]:
    """``status --json`` until the panel's row satisfies ``until``."""
    async with asyncio.timeout(timeout):
        while True:
            code, out, err = await status(config, "--json")
            assert code == 0, err
            (row,) = json.loads(out)["panels"]
            if until(row):
                return dict(row)
            await asyncio.sleep(0.2)


async def test_status_shows_the_running_daemons_panels(stack: StackFactory) -> None:
    async with stack(subprocess=True) as s:
        row = await panel_row(s.config_path, lambda r: r["state"] == "ready")
        assert row["id"] == PANEL
        assert row["mac"] == s.sim.mac
        assert (row["host"], row["port"]) == ("127.0.0.1", s.sim.port)
        assert row["rtt_ms"] >= 0  # loopback with uvloop (1 ms clock): often 0
        assert row["reconnects"] == 0
        assert row["queue_depth"] >= 0

        mark = s.listener.mark()
        s.sim.set_trouble("ac fail", True)
        await s.value(f"{H}/$alert/ac-fail", b"ac fail", mark)
        # the trouble event, then the panel's log entry for it
        row = await panel_row(s.config_path, lambda r: "ac fail" in (r["last_event"] or ""))
        assert row["last_event"].split()[0] in ("trouble", "log")
        assert row["last_event_at"] > 0

        code, out, _ = await status(s.config_path)
        assert code == 0
        head, blank, columns, line = out.splitlines()
        assert "MQTT connected" in head and blank == ""
        assert columns.split()[:4] == ["PANEL", "MAC", "STATE", "HOST:PORT"]
        mac = ":".join(s.sim.mac[i : i + 2] for i in range(0, 12, 2))
        assert line.split()[:4] == [PANEL, mac, "ready", f"127.0.0.1:{s.sim.port}"]
        assert "ac fail" in line

    code, _, err = await status(s.config_path)
    assert code == 1
    assert "is not running" in err
