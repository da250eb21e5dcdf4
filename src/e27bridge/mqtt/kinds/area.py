"""Areas on MQTT: alarm state and command (Homie), alarm panel and chime switch (HA)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from e27bridge.mqtt import setters
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind
from e27bridge.mqtt.properties import PropertySpec, boolean, command, enum_format
from e27bridge.mqtt.setters import InvalidCommand, Parsed, SetRequest
from e27bridge.panel.commands import ArmArea, SetChime
from e27bridge.panel.state import AlarmPhase, Area, ArmMode, Capabilities

# Command actions, by the panel arm mode they need (disarm is always there).
ARM_ACTIONS: Mapping[ArmMode, str] = {
    ArmMode.ARMED_AWAY: "arm_away",
    ArmMode.ARMED_STAY: "arm_home",
}
COMMAND_TEMPLATE = '{"action":"{{ action }}","code":"{{ code }}"}'
# panels[].arm_bypass_open: HA's arm buttons bypass the open zones first (disarm never does).
BYPASSING_TEMPLATE = (
    '{"action":"{{ action }}","code":"{{ code }}"'
    '{% if action != "disarm" %},"bypass_open":true{% endif %}}'
)
PHASES = tuple(p.value for p in AlarmPhase)
ARM_MODES = tuple(m.value for m in ArmMode)


def area_actions(arm_modes: tuple[ArmMode, ...]) -> tuple[str, ...]:
    return (*(ARM_ACTIONS[m] for m in arm_modes if m in ARM_ACTIONS), "disarm")


def arm(request: SetRequest, payload: bytes) -> Parsed:
    """``{"action": "arm_away", "code": "1234"}``: only the modes the panel accepts;
    ``"bypass_open": true`` bypasses the open zones first (ADR-0012)."""
    body = setters.json_command(payload, frozenset({"bypass_open"}))
    modes = {ARM_ACTIONS[m]: m for m in request.arm_modes if m in ARM_ACTIONS}
    modes["disarm"] = ArmMode.DISARMED
    chosen = setters.action(body, tuple(modes))
    bypass_open = body.get("bypass_open", False)
    if not isinstance(bypass_open, bool):
        raise InvalidCommand("invalid_value", "bypass_open: expected true or false")
    if bypass_open and chosen == "disarm":
        raise InvalidCommand("invalid_value", "bypass_open only goes with an arm action")
    command = ArmArea(request.number, modes[chosen], setters.code(body), bypass_open)
    return Parsed(command, body.get("transaction"))


_STATE = (
    PropertySpec(
        "state", "Alarm state", "enum", lambda a: a.phase and a.phase.value, enum_format(PHASES)
    ),
    PropertySpec(
        "arm-mode",
        "Arm mode",
        "enum",
        lambda a: a.arm_state and a.arm_state.value,
        enum_format(ARM_MODES),
    ),
    boolean("ready", "Ready to arm"),
    PropertySpec("alarm", "Alarm", "boolean", lambda a: a.alarm_active),
    PropertySpec("alarm-type", "Alarm type", "string", lambda a: a.alarm_type or ""),
    PropertySpec("alarm-zone", "Alarm zone", "string", lambda a: a.alarm_zone),
    # The panel's alarm memory (ADR-0016): listed once the panel reports it; the kinds
    # only when the panel names them.
    PropertySpec("alarm-memory", "Alarm memory", "boolean", lambda a: a.alarm_memory),
    PropertySpec(
        "alarm-memory-types",
        "Alarm memory types",
        "json",
        lambda a: None if a.alarm_memory_kinds is None else list(a.alarm_memory_kinds),
    ),
    PropertySpec("delay", "Entry/exit delay", "integer", lambda a: a.ee_timer, "0:", unit="s"),
    boolean("chime", "Chime", setters.simple(lambda n, p: SetChime(n, setters.boolean(p)))),
    PropertySpec(
        "bypassed-zones", "Bypassed zones", "integer", lambda a: a.zones_bypassed, unit="#"
    ),
    PropertySpec("troubles", "Troubles", "json", lambda a: list(a.troubles)),
)


def properties(area: Area, capabilities: Capabilities) -> tuple[PropertySpec, ...]:
    return _properties(capabilities.arm_modes)


@functools.cache
def _properties(arm_modes: tuple[ArmMode, ...]) -> tuple[PropertySpec, ...]:
    """The same for every area of a panel: built once per set of arm modes."""
    extra = {"bypass_open": {"type": "boolean"}}  # ADR-0012
    return (*_STATE, command(area_actions(arm_modes), arm, extra))


def components(ha: HassEntity, area: Area) -> Components:
    arm_modes = ha.capabilities.arm_modes
    panel = {
        **ha.common("alarm_control_panel", area.name),
        "state_topic": ha.topic("state"),
        "command_topic": ha.set("command"),
        "command_template": BYPASSING_TEMPLATE
        if ha.overrides.arm_bypass_open
        else COMMAND_TEMPLATE,
        "code": "REMOTE_CODE",
        "supported_features": [ARM_ACTIONS[m] for m in arm_modes if m in ARM_ACTIONS],
        "payload_arm_away": "arm_away",
        "payload_arm_home": "arm_home",
        "payload_disarm": "disarm",
        "json_attributes_topic": ha.topic("troubles"),
        "json_attributes_template": "{{ {'troubles': value_json} | tojson }}",
    }
    chime = {
        **ha.common("switch", f"{area.name} chime", "chime"),
        **ha.bool_switch("chime"),
        "entity_category": "config",
    }
    out = {ha.node: panel, f"{ha.node}-chime": chime}
    if area.alarm_memory is not None:
        out[f"{ha.node}-alarm-memory"] = alarm_memory(ha, area)
    return out


def alarm_memory(ha: HassEntity, area: Area) -> dict[str, Any]:
    """A binary sensor, on while the panel remembers an alarm; the kinds as an attribute
    when the panel names them."""
    sensor = {
        **ha.common("binary_sensor", f"{area.name} alarm memory", "alarm_memory"),
        "state_topic": ha.topic("alarm-memory"),
        "payload_on": "true",
        "payload_off": "false",
    }
    if area.alarm_memory_kinds is not None:
        sensor["json_attributes_topic"] = ha.topic("alarm-memory-types")
        sensor["json_attributes_template"] = "{{ {'alarms': value_json} | tojson }}"
    return sensor


MQTT = MqttKind(properties, components, urgent=True)
