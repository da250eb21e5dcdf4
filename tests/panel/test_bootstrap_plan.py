"""Bootstrap planning on its own: which status reads follow the inventory."""

from __future__ import annotations

from e27bridge.panel.bootstrap import status_plan
from e27bridge.panel.kinds.base import Found
from e27bridge.panel.kinds.light import build as build_light
from e27bridge.panel.kinds.tstat import build as build_tstat
from e27bridge.panel.kinds.zone import build as build_zone
from e27bridge.panel.state import (
    Area,
    Barrier,
    EntityKind,
    Keypad,
    Light,
    Lock,
    Output,
    PanelInfo,
    PanelSnapshot,
    Thermostat,
)
from e27bridge.protocol import models


def routes(snapshot: PanelSnapshot) -> list[tuple[str, object]]:
    return [(spec.route, spec.args) for spec in status_plan(snapshot)]


def test_a_panel_without_entities_reads_only_the_system_troubles() -> None:
    empty = PanelSnapshot("home", PanelInfo("00:11:22:33:44:AA"))
    assert routes(empty) == [("system.get_trouble", {})]


def test_bulk_reads_for_zones_and_outputs_one_read_per_entity_otherwise() -> None:
    snap = PanelSnapshot("home", PanelInfo("00:11:22:33:44:AA"))
    snap = snap.with_entities(EntityKind.AREA, {2: Area(2, "b"), 1: Area(1, "a")})
    zones = {i: build_zone(models.Attribs(i, "z", 1, "BURG_PERIM"), Found()) for i in range(1, 97)}
    snap = snap.with_entities(EntityKind.ZONE, zones)
    snap = snap.with_entities(EntityKind.OUTPUT, {i: Output(i, "o") for i in range(1, 17)})
    snap = snap.with_entities(EntityKind.LIGHT, {3: Light(3, "l")})
    snap = snap.with_entities(EntityKind.LOCK, {1: Lock(1, "k")})
    snap = snap.with_entities(EntityKind.TSTAT, {1: Thermostat(1, "t")})
    snap = snap.with_entities(EntityKind.BARRIER, {1: Barrier(1, "g")})
    snap = snap.with_entities(EntityKind.KEYPAD, {1: Keypad(1, "p")})
    assert routes(snap) == [
        ("area.get_status", {"area_id": 1}),
        ("area.get_status", {"area_id": 2}),
        ("zone.get_all_zones_status", {}),
        ("output.get_all_outputs_status", {}),
        ("light.get_status", {"light_id": 3}),
        ("lock.get_status", {"lock_id": 1}),
        ("tstat.get_status", {"tstat_id": 1}),
        ("barrier.get_status", {"barrier_id": 1}),
        ("system.get_trouble", {}),
    ]
    # Keypads have no status: 96 zones and 16 outputs cost two requests.
    assert len(status_plan(snap)) == 9


def test_placeholder_zones_are_never_built() -> None:
    found = Found(definitions=("UNDEFINED", "FIRE"))
    assert build_zone(models.Attribs(1, "Zone 1", 1, 1), found) is None
    zone = build_zone(models.Attribs(2, "Zone 2", 1, 2), found)
    assert zone is not None and zone.definition == "FIRE"
    assert build_zone(models.Attribs(3, "Zone 3", 1, " undefined "), found) is None


def test_a_kind_reads_its_own_attributes_from_the_reply() -> None:
    body = {"light_id": 4, "name": "Porch", "area_id": 1, "dimmable": False}
    attribs = models.parse_attribs("light", body)
    assert (attribs.entity_id, attribs.name, attribs.area_id) == (4, "Porch", 1)
    assert attribs.body["dimmable"] is False
    assert "dimmable" not in repr(attribs)


def test_lights_and_thermostats_read_what_the_panel_reports_of_them() -> None:
    def light(**extra: object) -> Light:
        return build_light(models.parse_attribs("light", {"light_id": 1, **extra}), Found())

    assert light().dimmable and light(dimmable=True).dimmable
    assert not light(dimmable=False).dimmable and not light(dimmable="false").dimmable

    def tstat(**extra: object) -> Thermostat:
        return build_tstat(models.parse_attribs("tstat", {"tstat_id": 1, **extra}), Found())

    assert (tstat().unit, tstat().setpoint_range) == ("F", None)  # unsaid: the vendor's °F
    reported = tstat(units="C", setpoint_min=5, setpoint_max="35")
    assert (reported.unit, reported.setpoint_range) == ("C", (5, 35))
    # Limits that are not whole degrees in a sane order are not limits.
    assert tstat(setpoint_min=90, setpoint_max=40).setpoint_range is None
    assert tstat(setpoint_min=40.5, setpoint_max=90).setpoint_range is None
    assert tstat(setpoint_min=40).setpoint_range is None
    assert tstat(setpoint_min=-400, setpoint_max=90).setpoint_range is None
