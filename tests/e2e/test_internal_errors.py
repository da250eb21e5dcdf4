"""`e27bridge run` with a key store that fails while it links on first start (issue 9): the
error is caught, reported by `e27bridge health` (exit 1), and linking goes on once fixed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from waiting import wait_until

from .conftest import H, StackFactory


def health_report(state: Path) -> dict[str, Any]:
    try:
        report = json.loads((state / "health.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


async def test_key_store_failure_while_linking_is_reported_and_survived(
    stack: StackFactory, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    links = state / "links"
    links.symlink_to(state / "nowhere")  # reads find no keys; saving the new ones fails
    verdicts: list[subprocess.CompletedProcess[str]] = []

    async def fix_once_reported() -> dict[str, Any]:
        await wait_until(lambda: health_report(state).get("internal_errors"), timeout=30)
        verdict = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "e27bridge", "health", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            check=False,
        )
        verdicts.append(verdict)
        links.unlink()  # the installation is repaired: the next attempt links and stores
        return health_report(state)

    fixer = asyncio.create_task(fix_once_reported())
    async with stack(subprocess=True) as s:  # ready only once linking was retried
        report = await fixer
        assert "internal error in owner:" in report["internal_errors"][0]
        assert verdicts[0].returncode == 1, verdicts[0].stdout
        assert "internal error" in verdicts[0].stdout
        assert (links / f"{s.sim.mac}.json").is_file()
        await s.value(f"{H}/$state", b"ready", 0)
        log = s.daemon.log()  # type: ignore[attr-defined]
        assert '"event": "internal_error"' in log and "Traceback" in log
