"""The traffic tap through `e27bridge run`: a whole session (link on first start, commands
with the right and a wrong code, a bypass) appears on `<base>/<panel>/tap`, decoded, and
nothing secret is in it; `e27bridge tap` prints the same from the broker."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from .conftest import ACCESS_CODE, PANEL, PASSPHRASE, PIN, WRONG_PIN, H, Stack, StackFactory

TAP = f"e27bridge/{PANEL}/tap"


def secrets(s: Stack) -> list[str]:
    keys = json.loads((s.state_dir / "links" / f"{s.sim.mac}.json").read_text())
    found = [ACCESS_CODE, PASSPHRASE, str(PIN), str(WRONG_PIN), keys["enc"], keys["hmac"]]
    return found + [k.upper() for k in (keys["enc"], keys["hmac"])]


def records(s: Stack, start: int = 0) -> list[dict[str, Any]]:
    return [m.json() for m in s.listener.messages[start:] if m.topic == TAP]


async def test_the_tap_of_a_whole_session_carries_no_secret(stack: StackFactory) -> None:
    async with stack(subprocess=True, panel_config="tap = true") as s:
        cli = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "e27bridge", "tap", "--config", str(s.config_path), "--panel", PANEL),
            *("--count", "3"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert cli.stderr is not None
        assert b"following" in await asyncio.wait_for(cli.stderr.readline(), 10)
        for code, action in ((PIN, "arm_away"), (WRONG_PIN, "disarm"), (PIN, "disarm")):
            body = json.dumps({"action": action, "code": str(code)})
            await s.command(f"{H}/area-1/command/set", body)
        _, result = await s.command(
            f"{H}/zone-2/command/set", json.dumps({"action": "bypass", "code": str(PIN)})
        )
        assert result["status"] == "ok"
        await s.listener.wait_for(
            lambda m: (
                m.topic == TAP and b'"command":"set_status"' in m.payload and b'"zone"' in m.payload
            )
        )
        out, _ = await asyncio.wait_for(cli.communicate(), 10)
        assert cli.returncode == 0
        printed = [json.loads(line) for line in out.decode().splitlines()]

        tapped = records(s)
        assert len(printed) == 3 and printed[0] in tapped
        first = tapped.index(printed[0])
        assert printed == tapped[first : first + 3]
        outs = [r["seq"] for r in tapped if r["direction"] == "out"]
        ins = [r["seq"] for r in tapped if r["direction"] == "in" and r["kind"] == "reply"]
        assert outs[:5] == ins[:5]  # each request before its reply
        text = "\n".join(m.payload.decode() for m in s.listener.messages if m.topic == TAP)
        assert not [secret for secret in secrets(s) if secret in text]
        assert not [m for m in s.listener.messages if m.topic == TAP and m.retain]
        arms = [r for r in tapped if r["command"] == "set_arm_state" and r["direction"] == "out"]
        assert len(arms) == 3 and all(r["body"]["pin"] == "[redacted]" for r in arms)
        assert {r["direction"] for r in tapped} == {"in", "out"}
        assert {"request", "reply", "broadcast"} <= {r["kind"] for r in tapped}
        assert any(r["error_code"] for r in tapped)  # the wrong code's refusal
        assert all(isinstance(r["time"], float) and "seq" in r for r in tapped)
