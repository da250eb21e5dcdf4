"""A state change costs work for what changed, not for the panel (issue 14, Deliver 1)."""

from __future__ import annotations

from dataclasses import replace

from e27bridge.mqtt.backlog import latest_states
from e27bridge.mqtt.hass import ConfigBuilder, HassPanel, Origin
from e27bridge.mqtt.homie import HomiePanel, NodeTree, VersionClock
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics
from e27bridge.panel.events import ConnectionChanged, SnapshotReplaced
from e27bridge.panel.state import ArmMode, ConnectionState, EntityKind, PanelSnapshot

from .factories import snapshot
from .recording import RecordingSink

TOPICS = Topics()
ARM = (ArmMode.ARMED_AWAY, ArmMode.ARMED_STAY)


def with_zone(snap: PanelSnapshot, zone_id: int, **changes: object) -> PanelSnapshot:
    zones = dict(snap.zones)
    zones[zone_id] = replace(zones[zone_id], **changes)
    return snap.with_entities(EntityKind.ZONE, zones)


def test_a_zone_change_rebuilds_one_node_and_no_description() -> None:
    tree = NodeTree()
    snap = snapshot()
    nodes, restructured = tree.update(snap)
    assert restructured and len(nodes) == len(tree.nodes)
    nodes, restructured = tree.update(with_zone(snap, 1, violated=True))
    assert [n.id for n in nodes] == ["system", "zone-1"]  # the system node reads the snapshot
    assert not restructured
    nodes, restructured = tree.update(with_zone(snap, 1, name="Renamed"))
    assert "zone-1" in [n.id for n in nodes] and restructured  # a name is in the description


async def test_homie_publishes_only_the_changed_value() -> None:
    sink = RecordingSink()
    homie = HomiePanel(TOPICS, sink, "home", VersionClock())
    snap = snapshot()
    await homie.sync(snap)
    sink.published.clear()
    await homie.sync(with_zone(snap, 1, violated=True))
    assert sink.sent == [("homie/5/home/zone-1/open", b"true")]


async def test_hass_config_is_not_rebuilt_for_a_state_change() -> None:
    sink = RecordingSink()
    builder = ConfigBuilder(TOPICS, "home", PanelOverrides(), Origin(), ARM)
    hass = HassPanel(TOPICS, sink, "home", builder)
    snap = snapshot()
    await hass.sync(snap)
    assert len(sink.published) == 1
    assert not builder.refresh(with_zone(snap, 1, violated=True))
    await hass.sync(with_zone(snap, 1, violated=True))
    assert len(sink.published) == 1  # nothing to say to Home Assistant
    renamed = with_zone(snap, 1, name="Back door")
    assert builder.refresh(renamed)
    await hass.sync(renamed)
    assert len(sink.published) == 2
    assert sink.published[-1].json()["components"]["zone-1"]["name"] == "Back door"


def test_the_override_view_keeps_untouched_kinds_as_they_are() -> None:
    overrides = PanelOverrides(names={(EntityKind.OUTPUT, 1): "Sprinkler"})
    snap = snapshot()
    first = overrides.apply(snap)
    second = overrides.apply(with_zone(snap, 1, violated=True))
    assert second.outputs is first.outputs  # renamed kind: the same view object again
    assert second.outputs[1].name == "Sprinkler"
    assert second.zones[1].violated is True


def test_a_backlog_collapses_to_the_newest_snapshot_per_connection_state() -> None:
    init = snapshot(connection=ConnectionState.CONNECTING)
    ready = [with_zone(snapshot(), 1, violated=v) for v in (True, False, True)]
    other = snapshot("garage")
    events = [
        SnapshotReplaced("home", init),
        ConnectionChanged("home", ConnectionState.CONNECTING, ConnectionState.READY, None),
        SnapshotReplaced("home", ready[0]),
        SnapshotReplaced("garage", other),
        SnapshotReplaced("home", ready[1]),
        SnapshotReplaced("home", ready[2]),
    ]
    kept = latest_states(events)
    assert kept == [events[0], events[1], events[3], events[5]]  # init still comes first
