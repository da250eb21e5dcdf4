"""What the panel does on its own reaches MQTT: zone changes, an alarm after the entry delay,
troubles as Homie `$alert`s, and the non-retained event stream."""

from __future__ import annotations

import json

from .conftest import PANEL, PIN, H, StackFactory

EVENT = f"e27bridge/{PANEL}/event"


async def test_alarm_troubles_and_event_stream(stack: StackFactory) -> None:
    async with stack() as s:
        mark = s.listener.mark()
        s.sim.set_zone(3, "open")
        await s.value(f"{H}/zone-3/open", b"true", mark)
        s.sim.set_zone(3, "closed")
        await s.value(f"{H}/zone-3/open", b"false", mark)

        body = json.dumps({"action": "arm_away", "code": PIN})
        mark, result = await s.command(f"{H}/area-1/command/set", body)
        assert result["status"] == "ok"
        await s.value(f"{H}/area-1/state", b"armed_away", mark)
        armed = await s.listener.wait_for(
            lambda m: m.topic == EVENT and m.json()["event_type"] == "armed", start=mark
        )
        assert not armed.retain

        mark = s.listener.mark()
        s.sim.set_zone(1, "open")  # an entry door: entry delay, then the alarm
        await s.value(f"{H}/area-1/state", b"pending", mark)
        await s.value(f"{H}/area-1/state", b"triggered", mark)
        await s.value(f"{H}/area-1/alarm", b"true", mark)
        await s.value(f"{H}/area-1/alarm-zone", b"1", mark)
        alarm = await s.listener.wait_for(
            lambda m: m.topic == EVENT and m.json()["event_type"] == "alarm", start=mark
        )
        assert alarm.json()["zone"] == 1

        body = json.dumps({"action": "disarm", "code": PIN})
        mark, result = await s.command(f"{H}/area-1/command/set", body)
        assert result["status"] == "ok"
        await s.value(f"{H}/area-1/state", b"disarmed", mark)
        await s.value(f"{H}/area-1/alarm", b"false", mark)
        await s.listener.wait_for(
            lambda m: m.topic == EVENT and m.json()["event_type"] == "disarmed", start=mark
        )

        mark = s.listener.mark()
        s.sim.set_trouble("ac fail", True)
        await s.value(f"{H}/$alert/ac-fail", b"ac fail", mark)
        await s.value(f"{H}/system/troubles", b'["ac fail"]', mark)
        s.sim.set_trouble("ac fail", False)
        await s.value(f"{H}/$alert/ac-fail", b"", mark)
        await s.value(f"{H}/system/troubles", b"[]", mark)
        events = [m.json() for m in s.listener.messages if m.topic == EVENT]
        assert all(str(PIN) not in json.dumps(e) for e in events)
