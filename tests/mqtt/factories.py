"""Real ``PanelSnapshot`` objects for MQTT-layer tests (no engine needed)."""

from __future__ import annotations

from e27bridge.panel.state import (
    Area,
    ArmMode,
    Barrier,
    BarrierPosition,
    ConnectionState,
    EntityKind,
    Keypad,
    Light,
    LinkHealth,
    Lock,
    Output,
    PanelInfo,
    PanelSnapshot,
    Thermostat,
    Zone,
)

MAC = "00:11:22:33:44:AA"
DEFINITIONS = ("BURG_PERIM_DELAY", "BURG_INTERIOR_FOLLOWER", "FIRE", "CO", "WATER", "UNDEFINED")


def snapshot(
    panel_id: str = "home",
    connection: ConnectionState = ConnectionState.READY,
    zones: int = 6,
    troubles: tuple[str, ...] = (),
) -> PanelSnapshot:
    snap = PanelSnapshot(
        panel_id=panel_id,
        info=PanelInfo(mac=MAC, name="Home", serial="S123", model="E27", firmware="0.0.6.4"),
        connection=connection,
        troubles=troubles,
        health=LinkHealth(rtt_ms=12.5, queue_depth=0, reconnects=1, last_error=None),
    )
    snap = snap.with_entities(
        EntityKind.AREA,
        {
            1: Area(
                1,
                "Main House",
                arm_state=ArmMode.DISARMED,
                ready=True,
                chime=False,
                alarm_memory=True,
                alarm_memory_kinds=("FIRE",),
            )
        },
    )
    snap = snap.with_entities(
        EntityKind.ZONE,
        {
            n: Zone(
                n,
                f"Zone {n}",
                area_id=1,
                definition=DEFINITIONS[(n - 1) % len(DEFINITIONS)],
                enabled=True,
                violated=False,
                bypassed=False,
            )
            for n in range(1, zones + 1)
        },
    )
    snap = snap.with_entities(EntityKind.OUTPUT, {1: Output(1, "Siren", on=False)})
    snap = snap.with_entities(EntityKind.LIGHT, {1: Light(1, "Porch", area_id=1, level=0)})
    snap = snap.with_entities(EntityKind.LOCK, {1: Lock(1, "Front Door Lock", locked=True)})
    snap = snap.with_entities(
        EntityKind.TSTAT,
        {
            1: Thermostat(
                1,
                "Hallway",
                temperature=70.0,
                humidity=40.0,
                mode="HEAT",
                fan_mode="AUTO",
                heat_setpoint=68,
                cool_setpoint=76,
                battery=90,
            )
        },
    )
    snap = snap.with_entities(
        EntityKind.BARRIER, {1: Barrier(1, "Garage Door", position=BarrierPosition.CLOSED)}
    )
    return snap.with_entities(EntityKind.KEYPAD, {1: Keypad(1, "Kitchen Keypad", area_id=1)})
