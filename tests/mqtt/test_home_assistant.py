"""Home Assistant's own schemas and template engine as the checker of our discovery payloads.

HA needs Python 3.13 here, so it runs in its own interpreter (``scripts/ha-check.sh``
installs Home Assistant 2025.4.4 into ``.ha-venv``; ``E27BRIDGE_HA_PYTHON`` names another),
fed the golden captures of both discovery forms and builder payloads of a panel with a
non-dimmable light and a °C thermostat. Skipped only when no such interpreter imports
``homeassistant``. HA drops unknown keys silently; our strict schemas catch typos, this
catches what HA itself refuses or reads otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from e27bridge.mqtt.hass import ConfigBuilder, Origin
from e27bridge.mqtt.overrides import PanelOverrides
from e27bridge.mqtt.topics import Topics

from .test_panel_fit import panel

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "e2e" / "golden"
# Keys HA 2025.4 does not know yet (default_entity_id arrived in 2025.10).
NEWER_THAN_2025_4 = {"default_entity_id"}


@cache
def ha_python() -> str | None:
    python = os.environ.get("E27BRIDGE_HA_PYTHON") or str(ROOT / ".ha-venv" / "bin" / "python")
    try:
        probe = subprocess.run(
            [python, "-c", "import homeassistant.components.mqtt"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    except OSError:
        return None
    return python if probe.returncode == 0 else None


def payloads() -> dict[str, Any]:
    device = json.loads((GOLDEN / "small-profile.json").read_text())
    component = json.loads((GOLDEN / "hass-component.json").read_text())
    builder = ConfigBuilder(Topics(), "fit", PanelOverrides(), Origin())
    config = builder.build(panel())
    flat = {
        f"homeassistant/{platform}/fit/{cid}/config": body
        for cid, (platform, body) in builder.per_component(config).items()
    }
    return {
        "device": [device["homeassistant/device/home/config"]["json"], config],
        "component": {**{t: v["json"] for t, v in component.items()}, **flat},
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    python = ha_python()
    if python is None:
        pytest.skip("no Python with homeassistant (bash scripts/ha-check.sh installs one)")
    path = tmp_path_factory.mktemp("ha") / "payloads.json"
    path.write_text(json.dumps(payloads()))
    run = subprocess.run(
        [python, str(ROOT / "scripts" / "ha_check.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)  # type: ignore[no-any-return]


def test_home_assistant_accepts_every_payload_of_both_forms(report: dict[str, Any]) -> None:
    assert report["homeassistant"] == "2025.4.4"
    assert report["errors"] == []
    assert report["checked"] >= 100
    dropped = {key for keys in report["dropped"].values() for key in keys}
    assert dropped <= NEWER_THAN_2025_4


def test_home_assistant_reads_lights_thermostats_and_arm_modes_as_the_panel_says(
    report: dict[str, Any],
) -> None:
    lights = report["lights"]
    assert lights["device[0].light-2"] == lights["device[1].light-2"] == "onoff"
    assert lights["homeassistant/light/fit/light-2/config"] == "onoff"
    assert lights["device[0].light-1"] == "brightness"
    simulated = report["climates"]["homeassistant/climate/home/tstat-1/config"]
    assert simulated == report["climates"]["device[0].tstat-1"]
    assert (simulated["min_temp"], simulated["max_temp"], simulated["temp_step"]) == (40, 95, 1)
    assert simulated["temperature_unit"] == "°F"
    # A metric user's pick, converted by HA and sent through our template: rounded.
    assert simulated["sent"] == {"18 °C": "64", "21 °C": "70", "24 °C": "75"}
    celsius = report["climates"]["homeassistant/climate/fit/tstat-1/config"]
    assert (celsius["min_temp"], celsius["max_temp"], celsius["temperature_unit"]) == (
        5,
        35,
        "°C",
    )
    assert report["alarm_panels"]["device[0].area-1"] == ["arm_away", "arm_home"]
