"""The stored inventory: a restart reads only the kinds whose table checksum moved (ADR-0014).

Real simulators over TCP and real files in a temporary state directory.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from e27bridge.panel.inventory import InventoryFile, attribs_entry
from e27bridge.panel.owner import PanelOwner
from e27bridge.panel.state import PanelSnapshot
from e27bridge.simulator.config import SimulatorConfig
from e27bridge.simulator.runner import Simulator

from .conftest import IDENTITY, link_to, running, sim_config

CONFIGURATION = ("get_configured", "get_attribs", "get_defs")


def commands(sim: Simulator) -> Counter[tuple[str, str | None]]:
    counts: Counter[tuple[str, str | None]] = Counter()
    for (domain, command, _), n in sim.panel.request_counts.items():
        counts[domain, command] += n
    return counts


def configuration_reads(sim: Simulator) -> set[tuple[str, str | None]]:
    return {key for key, n in commands(sim).items() if key[1] in CONFIGURATION and n}


def names(snapshot: PanelSnapshot) -> dict[str, dict[int, tuple[str, Any]]]:
    """What the configuration gives: every entity's id, name and (zones) definition."""
    return {
        kind.value: {i: (e.name, getattr(e, "definition", None)) for i, e in entities.items()}
        for kind, entities in snapshot.entity_sets.items()
    }


async def start_owner(sim: Simulator, state_dir: Path, **settings: Any) -> PanelSnapshot:
    """Link, run the owner with the state directory's inventory until ready, stop it."""
    linked = await link_to(sim)
    owner = PanelOwner(
        dataclasses.replace(linked.settings, **settings),
        IDENTITY,
        linked.keys,
        inventory=InventoryFile(state_dir, sim.mac),
    )
    sim.panel.request_counts.clear()
    async with running(owner):
        return owner.snapshot


def renamed_light(config: SimulatorConfig) -> SimulatorConfig:
    lights = list(config.inventory.lights)
    lights[0] = dataclasses.replace(lights[0], name="Pantry")
    return dataclasses.replace(
        config, inventory=dataclasses.replace(config.inventory, lights=tuple(lights))
    )


async def test_a_restart_reads_no_configuration_of_unchanged_kinds(simulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        cold = await start_owner(sim, tmp_path)
        assert ("zone", "get_attribs") in configuration_reads(sim)
        path = InventoryFile(tmp_path, sim.mac).path
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        warm = await start_owner(sim, tmp_path)
        assert configuration_reads(sim) == set()
        counts = commands(sim)
        assert counts["zone", "get_table_info"] == 1  # the checksums are compared
        assert counts["zone", "get_all_zones_status"] == 1  # status is always read
        assert names(warm) == names(cold)


async def test_a_changed_checksum_rereads_only_that_kind(simulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        await start_owner(sim, tmp_path)
        before = sim.panel.system.table_csm("light")
    async with simulator(renamed_light(sim_config())) as sim:
        assert sim.panel.system.table_csm("light") != before  # the simulator moves it
        snapshot = await start_owner(sim, tmp_path)
        assert configuration_reads(sim) == {("light", "get_configured"), ("light", "get_attribs")}
        assert snapshot.lights[1].name == "Pantry"
        assert snapshot.zones[1].definition is not None  # kept, with its definition
    async with simulator() as sim:  # and back: the file holds the new read
        await start_owner(sim, tmp_path)
        assert {domain for domain, _ in configuration_reads(sim)} == {"light"}


async def test_a_changed_zone_table_reads_the_definitions_again(simulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        await start_owner(sim, tmp_path)
    config = sim_config()
    zones = list(config.inventory.zones)
    zones[0] = dataclasses.replace(zones[0], name="Back Porch")
    config = dataclasses.replace(
        config, inventory=dataclasses.replace(config.inventory, zones=tuple(zones))
    )
    async with simulator(config) as sim:
        snapshot = await start_owner(sim, tmp_path)
        reads = configuration_reads(sim)
        assert {domain for domain, _ in reads} == {"zone"}
        assert snapshot.zones[1].name == "Back Porch"


def foreign(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "mac": "0050C2E27FFF"}


def newer(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "version": 2}


def wrong_type(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "kinds": {"zone": {"table_csm": "x", "entries": {}}}}


@pytest.mark.parametrize("spoil", [foreign, newer, wrong_type, None])
async def test_an_unusable_file_is_ignored_with_a_warning_and_replaced(
    simulator, tmp_path, spoil
) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        cold = await start_owner(sim, tmp_path)
        path = InventoryFile(tmp_path, sim.mac).path
        if spoil is None:
            path.write_bytes(b'{"version": 1, "mac": ')  # cut short
        else:
            path.write_text(json.dumps(spoil(json.loads(path.read_bytes()))))
        with capture_logs() as logs:
            snapshot = await start_owner(sim, tmp_path)
        assert ("zone", "get_attribs") in configuration_reads(sim)  # a full read
        warnings = [e for e in logs if e["event"] == "inventory_ignored"]
        assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
        assert str(path) == warnings[0]["path"]
        assert names(snapshot) == names(cold)
        assert json.loads(path.read_bytes())["mac"] == sim.mac  # replaced by the new read
        await start_owner(sim, tmp_path)
        assert configuration_reads(sim) == set()


async def test_an_inventory_older_than_the_maximum_age_is_read_again(simulator, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with simulator() as sim:
        await start_owner(sim, tmp_path)
        await start_owner(sim, tmp_path, inventory_max_age=0.0)
        assert ("zone", "get_attribs") in configuration_reads(sim)


def test_credential_like_fields_are_not_kept() -> None:
    body = {"zone_id": 3, "name": "Door", "pin": 1234, "user_code": 5, "passphrase": "x"}
    assert attribs_entry(body) == {"zone_id": 3, "name": "Door"}
