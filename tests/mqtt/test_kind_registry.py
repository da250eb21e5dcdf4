"""A kind added in one place flows through bootstrap, reducer, commands, Homie and HA.

The doorbell below exists only in this test: one engine declaration, one MQTT declaration
and a registry line each (``including``). No panel has a doorbell domain, so its replies
come from a scripted panel at the queue boundary; everything after the queue is real.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, replace
from typing import Any

from e27bridge.mqtt import setters
from e27bridge.mqtt.commands import parse_command
from e27bridge.mqtt.hass import ConfigBuilder, Origin
from e27bridge.mqtt.homie import panel_description
from e27bridge.mqtt.kinds import MQTT_KINDS
from e27bridge.mqtt.kinds.base import Components, HassEntity, MqttKind, fixed
from e27bridge.mqtt.nodes import format_value, panel_nodes
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.properties import boolean
from e27bridge.mqtt.setters import InvalidCommand, Parsed, SetRequest
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.bootstrap import Bootstrapper
from e27bridge.panel.commands import Outcome
from e27bridge.panel.events import EntityChanged, PanelEvent
from e27bridge.panel.kinds import KINDS
from e27bridge.panel.kinds.base import Event, KindSpec, StatusReader, Write, per_id
from e27bridge.panel.planning import plan_command
from e27bridge.panel.queue import Priority, QueueResult
from e27bridge.panel.reducer import Reduction, apply_message
from e27bridge.panel.state import ArmMode, ConnectionState, PanelInfo
from e27bridge.protocol import models
from e27bridge.protocol.messages import route_message
from e27bridge.protocol.requests import RequestSpec

from .schemas import hass_errors, homie_schema_errors

ARM = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)
MAC = "00:11:22:33:44:AA"


# --- the fake kind: everything a new kind needs ------------------------------------------
class FakeKind(enum.Enum):
    DOORBELL = "doorbell"


@dataclass(frozen=True, slots=True)
class Doorbell:
    id: int
    name: str
    ringing: bool | None = None


def _parse(body: dict[str, Any]) -> bool | None:
    return models.as_bool(body.get("ringing"))


def _merge(old: Doorbell, ringing: bool | None) -> Doorbell:
    return old if ringing is None else replace(old, ringing=ringing)


def _events(old: Doorbell, new: Doorbell) -> tuple[Event, ...]:
    return (("ring", {"doorbell": new.id}),) if new.ringing and not old.ringing else ()


@dataclass(frozen=True, slots=True)
class Silence:
    doorbell_id: int


def _silence(command: Silence) -> Write:
    args = {"doorbell_id": command.doorbell_id, "ringing": False}
    return Write(RequestSpec("doorbell", "set_status", args), command.doorbell_id)


ENGINE = KindSpec(
    label="doorbells",
    build=lambda attribs, found: Doorbell(attribs.entity_id, attribs.name),
    status=StatusReader(per_id("doorbell", _parse), _merge),
    events=_events,
    commands={Silence: _silence},
)


def _components(ha: HassEntity, bell: Doorbell) -> Components:
    return {
        ha.node: {
            **ha.common("binary_sensor", bell.name),
            "state_topic": ha.topic("ringing"),
            "payload_on": "true",
            "payload_off": "false",
        }
    }


def _set_ringing(request: SetRequest, payload: bytes) -> Parsed:
    if setters.boolean(payload):
        raise InvalidCommand("invalid_value", "a doorbell can only be silenced")
    return Parsed(Silence(request.number))


MQTT = MqttKind(fixed(boolean("ringing", "Ringing", _set_ringing)), _components)


# --- a panel that has a doorbell ----------------------------------------------------------
def _page(key: str, ids: list[int]) -> dict[str, Any]:
    return {"block_id": 1, "block_count": 1, key: ids}


REPLIES: dict[str, dict[str, Any]] = {
    "control.get_version_info": {"sn": "12345678", "hw": "E27", "SSP": "1.0"},
    "area.get_configured": _page("areas", [1]),
    "zone.get_configured": _page("zones", []),
    "output.get_configured": _page("outputs", []),
    "area.get_attribs": {"area_id": 1, "name": "House"},
    "area.get_status": {"area_id": 1, "arm_state": "DISARMED", "ready_status": "RDY_TO_ARM"},
    "doorbell.get_table_info": {"table_elements": 4, "table_csm": 7},
    "doorbell.get_configured": _page("doorbells", [2]),
    "doorbell.get_attribs": {"doorbell_id": 2, "name": "Front door"},
    "doorbell.get_status": {"doorbell_id": 2, "ringing": False},
    "system.get_trouble": {"troubles": []},
    "log.get_index": {"newest": 5},
}


class ScriptedPanel:
    """The queue's interface, answering from ``REPLIES``; anything else is refused (11001)."""

    def __init__(self) -> None:
        self.routes: list[str] = []

    def enqueue(self, spec: RequestSpec, priority: Priority) -> asyncio.Future[QueueResult]:
        self.routes.append(spec.route)
        future: asyncio.Future[QueueResult] = asyncio.get_running_loop().create_future()
        domain, command = spec.route.split(".")
        body = REPLIES.get(spec.route)
        if body is None:
            reply = route_message({"seq": 1, domain: {command: {"error_code": 11001}}})
            future.set_result(QueueResult(Outcome.REJECTED, reply, 11001))
        else:
            reply = route_message({"seq": 1, domain: {command: {**body, "error_code": 0}}})
            future.set_result(QueueResult(Outcome.OK, reply))
        return future

    def withdraw(self, future: asyncio.Future[QueueResult]) -> None:
        """Nothing waits here: every answer is immediate."""


async def test_a_kind_added_in_one_module_flows_through_every_layer() -> None:
    kind: Any = FakeKind.DOORBELL
    with KINDS.including(kind, ENGINE), MQTT_KINDS.including(kind, MQTT):
        panel = ScriptedPanel()
        result = await Bootstrapper(panel, "home", PanelInfo(MAC)).run()  # type: ignore[arg-type]
        for command in ("get_table_info", "get_configured", "get_attribs", "get_status"):
            assert f"doorbell.{command}" in panel.routes
        snapshot = result.snapshot
        assert snapshot.entities(kind) == {2: Doorbell(2, "Front door", ringing=False)}
        assert result.table_csms["doorbell"] == 7

        # Reducer: a broadcast rings the bell.
        reduction = Reduction(snapshot)
        ring = {"seq": 0, "doorbell": {"get_status": {"doorbell_id": 2, "ringing": True}}}
        apply_message(reduction, route_message(ring))
        changed = [e for e in reduction.events if isinstance(e, EntityChanged)]
        assert [(e.kind, e.entity_id, e.fields) for e in changed] == [(kind, 2, ("ringing",))]
        assert [(e.type, e.data) for e in reduction.events if isinstance(e, PanelEvent)] == [
            ("ring", {"doorbell": 2})
        ]
        snapshot = replace(reduction.snapshot, connection=ConnectionState.READY)

        # Homie: a node with its property, valid by the schema, with a value.
        description = panel_description(snapshot, "e27bridge", 1, ARM)
        assert description["nodes"]["doorbell-2"]["properties"]["ringing"]["datatype"] == "boolean"
        assert description["nodes"]["doorbell-2"]["type"] == "e27bridge.doorbell"
        assert homie_schema_errors(description) == []
        node = panel_nodes(snapshot, ARM)["doorbell-2"]
        prop = node.property("ringing")
        assert prop is not None and format_value(prop, prop.value(node.source)) == b"true"

        # Commands: a /set on the property becomes the kind's command and its request.
        nodes = panel_nodes(snapshot, ARM)
        parsed = parse_command(nodes, "doorbell-2", "ringing", b"false", ARM)
        assert parsed.command == Silence(2)
        plan = plan_command(snapshot, parsed.command)
        assert (plan.spec.route, plan.spec.args) == (
            "doorbell.set_status",
            {"doorbell_id": 2, "ringing": False},
        )
        assert plan.reread.route == "doorbell.get_status"

        # Home Assistant: a component pointing at the Homie topic, valid by the schema.
        config = ConfigBuilder(Topics(), "home", PanelOverrides(), Origin(), ARM).build(snapshot)
        component = config["components"]["doorbell-2"]
        assert component["state_topic"] == "homie/5/home/doorbell-2/ringing"
        assert component["unique_id"] == "e27_0011223344aa_doorbell_2"
        assert hass_errors(config) == []

    # Out of the registries again: nothing knows the doorbell any more.
    assert kind not in KINDS and kind not in MQTT_KINDS
    assert "doorbell-2" not in panel_nodes(snapshot, ARM)
