"""``parse_command`` on its own: every settable property, every refusal and its reason."""

from __future__ import annotations

import pytest

from e27bridge.mqtt.commands import LIGHT_ON_LEVEL, InvalidCommand, parse_command, result_payload
from e27bridge.mqtt.nodes import panel_nodes
from e27bridge.panel.commands import (
    ArmArea,
    BarrierAction,
    BypassZone,
    Command,
    CommandResult,
    OperateBarrier,
    Outcome,
    SetChime,
    SetLight,
    SetLock,
    SetOutput,
    SetThermostat,
)
from e27bridge.panel.state import ArmMode

from .factories import snapshot

AWAY_ONLY = (ArmMode.ARMED_AWAY,)
BOTH = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)
NODES = panel_nodes(snapshot("home"), BOTH)


def parse(node: str, prop: str, payload: bytes, modes: tuple[ArmMode, ...] = BOTH) -> Command:
    return parse_command(NODES, node, prop, payload, modes).command


def reason(node: str, prop: str, payload: bytes, **kw: object) -> str:
    with pytest.raises(InvalidCommand) as caught:
        parse_command(NODES, node, prop, payload, BOTH, **kw)  # type: ignore[arg-type]
    return caught.value.reason


@pytest.mark.parametrize(
    ("node", "prop", "payload", "command"),
    [
        ("area-1", "chime", b"true", SetChime(1, True)),
        ("output-1", "on", b"false", SetOutput(1, False)),
        ("light-1", "on", b"true", SetLight(1, LIGHT_ON_LEVEL)),
        ("light-1", "on", b"false", SetLight(1, 0)),
        ("light-1", "level", b"42", SetLight(1, 42)),
        ("lock-1", "locked", b"false", SetLock(1, False)),
        ("tstat-1", "mode", b"COOL", SetThermostat(1, mode="COOL")),
        ("tstat-1", "fan-mode", b"ON", SetThermostat(1, fan_mode="ON")),
        ("tstat-1", "heat-setpoint", b"-40", SetThermostat(1, heat_setpoint=-40)),
        ("tstat-1", "cool-setpoint", b"150", SetThermostat(1, cool_setpoint=150)),
        ("barrier-1", "command", b"close", OperateBarrier(1, BarrierAction.CLOSE)),
    ],
)
def test_each_settable_property_becomes_its_command(
    node: str, prop: str, payload: bytes, command: Command
) -> None:
    assert parse(node, prop, payload) == command


@pytest.mark.parametrize(
    ("action", "mode"),
    [
        ("arm_away", ArmMode.ARMED_AWAY),
        ("arm_home", ArmMode.ARMED_STAY),
        ("disarm", ArmMode.DISARMED),
    ],
)
def test_area_actions_carry_the_code_and_the_transaction(action: str, mode: ArmMode) -> None:
    payload = f'{{"action":"{action}","code":"4321","transaction":["t",1]}}'.encode()
    parsed = parse_command(NODES, "area-1", "command", payload, BOTH)
    assert parsed.command == ArmArea(1, mode, 4321)
    assert parsed.transaction == ["t", 1]


def test_an_arm_may_bypass_the_open_zones_first() -> None:
    body = b'{"action":"arm_home","code":"4321","bypass_open":true}'
    assert parse("area-1", "command", body) == ArmArea(1, ArmMode.ARMED_STAY, 4321, True)
    body = b'{"action":"arm_home","code":"4321","bypass_open":false}'
    assert parse("area-1", "command", body) == ArmArea(1, ArmMode.ARMED_STAY, 4321)


def test_only_the_arm_modes_the_panel_offers_are_accepted() -> None:
    payload = b'{"action":"arm_home","code":1234}'
    with pytest.raises(InvalidCommand) as caught:
        parse_command(NODES, "area-1", "command", payload, AWAY_ONLY)
    assert caught.value.reason == "unknown_action"
    assert "arm_away, disarm" in str(caught.value)
    disarm = b'{"action":"disarm","code":1234}'
    assert parse("area-1", "command", disarm, modes=()) == ArmArea(1, ArmMode.DISARMED, 1234)


def test_zone_command_and_the_bypass_switch() -> None:
    assert parse("zone-2", "command", b'{"action":"bypass","code":12}') == BypassZone(2, True, 12)
    assert parse("zone-2", "command", b'{"action":"unbypass","code":12}') == BypassZone(
        2, False, 12
    )
    switched = parse_command(NODES, "zone-2", "bypassed", b"false", BOTH, bypass_code=987)
    assert switched.command == BypassZone(2, False, 987)
    assert reason("zone-2", "bypassed", b"true") == "code_required"  # no bypass_code configured


@pytest.mark.parametrize(
    ("node", "prop", "payload", "why"),
    [
        ("area-9", "command", b"{}", "unknown_entity"),
        ("user-1", "name", b"x", "unknown_entity"),  # users are no Homie node
        ("area-1", "colour", b"x", "unknown_property"),
        ("area-1", "state", b"armed", "not_settable"),
        ("area-1", "command", b'{"action":"arm_away"}', "code_required"),
        ("area-1", "command", b'{"action":"arm_away","code":""}', "code_required"),
        ("area-1", "command", b'{"action":"arm_away","code":true}', "code_required"),
        ("area-1", "command", b'{"action":"arm_away","code":12.5}', "code_required"),
        ("area-1", "command", b'{"action":"arm_away","code":"0123"}', "invalid_code"),
        ("area-1", "command", b'{"action":"arm_away","code":1234567}', "invalid_code"),
        ("area-1", "command", b'{"action":"panic","code":1}', "unknown_action"),
        ("area-1", "command", b'{"action":"disarm","code":1,"pin":2}', "unknown_field"),
        ("area-1", "command", b'{"action":"arm_away","code":1,"bypass_open":1}', "invalid_value"),
        ("area-1", "command", b'{"action":"disarm","code":1,"bypass_open":true}', "invalid_value"),
        ("zone-1", "command", b'{"action":"bypass","code":1,"bypass_open":true}', "unknown_field"),
        ("area-1", "command", b"[1]", "invalid_json"),
        ("area-1", "command", b"disarm", "invalid_json"),
        ("zone-1", "command", b'{"action":"open","code":1}', "unknown_action"),
        ("area-1", "chime", b"True", "invalid_value"),
        ("area-1", "chime", b"\xff", "not_utf8"),
        ("area-1", "chime", b"1" * 2000, "payload_too_large"),
        ("light-1", "level", b"100", "out_of_range"),
        ("light-1", "level", b"4.5", "invalid_value"),
        ("light-1", "level", b"1234567", "invalid_value"),
        ("tstat-1", "heat-setpoint", b"151", "out_of_range"),
        ("tstat-1", "mode", b"COOL; DROP", "invalid_value"),
        ("tstat-1", "mode", b"", "invalid_value"),
        ("barrier-1", "command", b"up", "unknown_action"),
    ],
)
def test_refusals_name_their_reason(node: str, prop: str, payload: bytes, why: str) -> None:
    assert reason(node, prop, payload) == why


def test_result_payload_reports_status_and_error() -> None:
    ok = CommandResult(Outcome.OK)
    assert result_payload(ok, "a/b/set", 7) == {
        "transaction": 7,
        "topic": "a/b/set",
        "status": "ok",
        "error": None,
    }
    refused = CommandResult(Outcome.REJECTED, code=11008)
    assert result_payload(refused, "a/b/set")["error"] == {
        "code": 11008,
        "reason": "rejected",
        "message": "The panel refused the command: not authorised (user code needed or "
        "insufficient privilege) (error 11008).",
    }


def test_every_settable_property_has_a_setter_and_no_other_does() -> None:
    for node in NODES.values():
        for prop in node.properties:
            assert (prop.setter is not None) == prop.settable, f"{node.id}/{prop.id}"
