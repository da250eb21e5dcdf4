"""Every import points down the layers: protocol <- panel <- mqtt <- app <- commands/cli.

The simulator uses the protocol only; ``daemon/`` (configuration, key store, health) sits
with ``app``; the demo may use everything. ``files`` and ``supervisor`` are small shared
helpers below all layers. Checked on the source (AST of every module, imports inside
functions and ``TYPE_CHECKING`` blocks included), so a layer cannot reach up, not even
lazily.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import e27bridge
from imports import imported_modules

SRC = Path(e27bridge.__file__).resolve().parent

# module (or package) -> layer; the longest matching prefix wins
LAYER_OF = {
    "e27bridge": "root",
    "e27bridge.__init__": "root",
    "e27bridge.files": "base",
    "e27bridge.supervisor": "base",
    "e27bridge.protocol": "protocol",
    "e27bridge.simulator": "simulator",
    "e27bridge.panel": "panel",
    "e27bridge.mqtt": "mqtt",
    "e27bridge.app": "app",
    "e27bridge.daemon": "app",
    "e27bridge.metrics": "app",
    "e27bridge.status": "app",
    "e27bridge.commands": "cli",
    "e27bridge.cli": "cli",
    "e27bridge.__main__": "cli",
    "e27bridge.demo": "demo",
}
_BELOW_ALL = {"root", "base"}
MAY_IMPORT: Mapping[str, set[str]] = {
    "root": {"root"},
    "base": _BELOW_ALL,
    "protocol": {"root", "protocol"},
    "simulator": _BELOW_ALL | {"protocol", "simulator"},
    "panel": _BELOW_ALL | {"protocol", "panel"},
    "mqtt": _BELOW_ALL | {"protocol", "panel", "mqtt"},
    "app": _BELOW_ALL | {"protocol", "panel", "mqtt", "app"},
    "cli": _BELOW_ALL | {"protocol", "panel", "mqtt", "app", "cli", "simulator", "demo"},
    "demo": set(LAYER_OF.values()),
}
CHAIN = ("protocol", "panel", "mqtt", "app", "cli")


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        layer = LAYER_OF.get(".".join(parts[:end]))
        if layer is not None:
            return layer
    return None


def violations(graph: Mapping[str, Sequence[tuple[int, str]]]) -> list[str]:
    """Every import in ``graph`` (module -> its imports) that points against the layers."""
    problems = []
    for module, imports in graph.items():
        layer = layer_of(module)
        if layer is None:
            problems.append(f"{module}: in no layer (add it to LAYER_OF)")
            continue
        for line, target in imports:
            if target != "e27bridge" and not target.startswith("e27bridge."):
                continue
            to = layer_of(target)
            if to not in MAY_IMPORT[layer]:
                problems.append(f"{module}:{line}: {layer} imports {target} ({to})")
    return problems


def module_name(path: Path) -> str:
    relative = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(relative.parts)


def source_graph() -> dict[str, list[tuple[int, str]]]:
    graph = {}
    for path in sorted(SRC.rglob("*.py")):
        name = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[name] = imported_modules(tree, name)
    return graph


def test_every_import_points_down_the_layers() -> None:
    graph = source_graph()
    assert len(graph) > 50
    assert violations(graph) == []


@pytest.mark.parametrize(("lower", "upper"), list(itertools.pairwise(CHAIN)))
def test_a_reversed_arrow_is_caught(lower: str, upper: str) -> None:
    """The check is not vacuous: each layer reaching one step up is flagged."""
    low = next(m for m, layer in LAYER_OF.items() if layer == lower)
    high = next(m for m, layer in LAYER_OF.items() if layer == upper)
    assert violations({f"{low}.x": [(1, f"{high}.y")]}) != []
    assert violations({f"{high}.x": [(1, f"{low}.y")]}) == []


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("e27bridge.simulator.server", "e27bridge.panel.session"),
        ("e27bridge.mqtt.bridge", "e27bridge.daemon.config"),
        ("e27bridge.protocol.framing", "e27bridge.files"),
        ("e27bridge.panel.owner", "e27bridge.demo.runner"),
        ("e27bridge.unknown", "e27bridge.protocol.framing"),
    ],
)
def test_known_wrong_arrows_are_caught(module: str, imported: str) -> None:
    assert violations({module: [(1, imported)]}) != []


def test_relative_and_nested_imports_are_read() -> None:
    source = "def f():\n    from ..daemon import config\n"
    tree = ast.parse(source)
    graph = {"e27bridge.mqtt.bridge": imported_modules(tree, "e27bridge.mqtt.bridge")}
    assert violations(graph) == ["e27bridge.mqtt.bridge:2: mqtt imports e27bridge.daemon (app)"]
