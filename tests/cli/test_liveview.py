"""The demo's live view: which engine events become a line, and what the line says."""

from __future__ import annotations

import asyncio

from e27bridge.demo.liveview import describe, follow, summary
from e27bridge.panel.bus import EventBus
from e27bridge.panel.events import (
    ConnectionChanged,
    EntityChanged,
    PanelEvent,
    SnapshotReplaced,
)
from e27bridge.panel.state import (
    Area,
    ArmMode,
    Barrier,
    BarrierPosition,
    ConnectionState,
    EntityKind,
    Light,
    Output,
    PanelInfo,
    PanelSnapshot,
    Zone,
    changed_fields,
)

P = "home"


def changed(kind: EntityKind, old: object, new: object) -> EntityChanged:
    number = getattr(new or old, "id")  # noqa: B009 - any entity dataclass
    return EntityChanged(P, kind, number, old, new, changed_fields(old, new))


def snapshot() -> PanelSnapshot:
    snap = PanelSnapshot(P, PanelInfo("0050C2E27001"))
    snap = snap.with_entities(EntityKind.AREA, {1: Area(1, "House")})
    return snap.with_entities(EntityKind.ZONE, {i: Zone(i, f"Z{i}") for i in range(1, 4)})


def test_zone_open_and_close() -> None:
    closed = Zone(17, "Front Door", violated=False)
    opened = Zone(17, "Front Door", violated=True)
    assert describe(changed(EntityKind.ZONE, closed, opened)) == (
        "home  zone-17    Front Door             open"
    )
    line = describe(changed(EntityKind.ZONE, opened, closed))
    assert line is not None and line.endswith("closed")


def test_zone_chatter_and_bootstrap_are_silent() -> None:
    zone = Zone(3, "Hall", violated=False, rssi=-40)
    assert (
        describe(changed(EntityKind.ZONE, zone, Zone(3, "Hall", violated=False, rssi=-50))) is None
    )
    assert describe(changed(EntityKind.ZONE, None, zone)) is None  # appeared at bootstrap
    assert describe(changed(EntityKind.ZONE, zone, None)) is None
    assert describe(SnapshotReplaced(P, snapshot())) is None


def test_area_arming_armed_and_alarm() -> None:
    disarmed = Area(1, "House", arm_state=ArmMode.DISARMED)
    arming = Area(
        1, "House", arm_state=ArmMode.DISARMED, arm_cmd_state=ArmMode.ARMED_AWAY, ee_timer=60
    )
    armed = Area(1, "House", arm_state=ArmMode.ARMED_AWAY)
    counting = Area(1, "House", arm_state=ArmMode.ARMED_AWAY, ee_timer=29, alarm_zone="17")
    assert str(describe(changed(EntityKind.AREA, disarmed, arming))).endswith("arming (60 s)")
    tick = Area(
        1, "House", arm_state=ArmMode.DISARMED, arm_cmd_state=ArmMode.ARMED_AWAY, ee_timer=59
    )
    assert describe(changed(EntityKind.AREA, arming, tick)) is None  # countdown ticks
    assert str(describe(changed(EntityKind.AREA, tick, armed))).endswith("armed_away")
    assert str(describe(changed(EntityKind.AREA, armed, counting))).endswith("pending (29 s)")


def test_outputs_lights_barriers() -> None:
    line = describe(
        changed(EntityKind.OUTPUT, Output(1, "Siren", on=False), Output(1, "Siren", on=True))
    )
    assert str(line).endswith("on")
    dim = describe(changed(EntityKind.LIGHT, Light(2, "Hall", level=0), Light(2, "Hall", level=40)))
    assert str(dim).endswith("on, level 40")
    door = describe(
        changed(
            EntityKind.BARRIER,
            Barrier(1, "Garage", position=BarrierPosition.CLOSED),
            Barrier(1, "Garage", position=BarrierPosition.OPENING),
        )
    )
    assert str(door).endswith("opening")


def test_connection_ready_summarises_the_inventory() -> None:
    event = ConnectionChanged(P, ConnectionState.CONNECTING, ConnectionState.READY)
    assert describe(event, snapshot()) == "home  connection connecting -> ready (1 areas, 3 zones)"
    lost = ConnectionChanged(P, ConnectionState.READY, ConnectionState.DISCONNECTED, "timeout")
    assert describe(lost) == "home  connection ready -> disconnected (timeout)"
    assert summary(PanelSnapshot(P, PanelInfo("0050C2E27001"))) == "no entities"


def test_panel_events() -> None:
    alarm = PanelEvent(P, "alarm", {"area": 1, "zone": "17", "type": "BURGLAR"})
    assert describe(alarm) == "home  ALARM in area-1 zone 17 (BURGLAR)"
    trouble = PanelEvent(P, "trouble", {"trouble": "ac fail", "active": True})
    assert describe(trouble) == "home  trouble 'ac fail' active"
    assert describe(PanelEvent(P, "log", {"id": 1, "text": "x"})) is None


async def test_follow_prints_until_the_bus_closes() -> None:
    bus = EventBus()
    lines: list[str] = []
    task = asyncio.create_task(follow(bus.subscribe(), lines.append, lambda _: None, lambda: 0.0))
    await asyncio.sleep(0)
    bus.publish(
        changed(EntityKind.OUTPUT, Output(1, "Siren", on=True), Output(1, "Siren", on=False))
    )
    bus.publish(changed(EntityKind.ZONE, None, Zone(1, "Hall")))
    bus.close()
    await asyncio.wait_for(task, 1)
    assert len(lines) == 1
    assert lines[0].endswith("Siren                  off")
    assert lines[0][:2].isdigit() and lines[0][2] == ":"
