"""Golden files of the retained topic tree: normalise run-dependent values, compare, update.

Set ``E27BRIDGE_UPDATE_GOLDEN=1`` to rewrite the files from the current run; otherwise any
difference fails the test with a short, readable list of what changed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE_ENV = "E27BRIDGE_UPDATE_GOLDEN"
VOLATILE = "<volatile>"

# JSON keys whose values change from run to run wherever they appear (package version,
# $description versions, which are millisecond clocks).
_VOLATILE_KEYS = frozenset({"version", "sw_version"})
# Whole topics whose value depends on timing (round trips, a background read in flight).
_VOLATILE_TOPICS = (re.compile(r"^homie/(5/)?[^/]+/system/(rtt|queue-depth)$"),)


def _walk(value: Any, run_values: Mapping[Any, str]) -> Any:
    if isinstance(value, dict):
        return {
            k: VOLATILE if k in _VOLATILE_KEYS else _walk(v, run_values) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_walk(v, run_values) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | str) and value in run_values:
        return run_values[value]
    return value


def normalise(tree: Mapping[str, bytes], run_values: Mapping[Any, str]) -> dict[str, Any]:
    """A JSON-able, run-independent view of a retained tree.

    ``run_values`` maps values that belong to this run (free ports, the temporary state
    directory) to stable placeholders; JSON payloads are parsed so the file diffs well.
    """
    out: dict[str, Any] = {}
    for topic in sorted(tree):
        if any(p.search(topic) for p in _VOLATILE_TOPICS):
            out[topic] = VOLATILE
            continue
        raw = tree[topic]
        text = raw.decode("utf-8", "replace")
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            out[topic] = {"text": text}
            continue
        out[topic] = (
            {"json": _walk(parsed, run_values)}
            if isinstance(parsed, dict | list)
            else {"text": text}
        )
    return out


def _leaf_differences(expected: Any, actual: Any, path: str) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{sub}: missing")
            elif key not in expected:
                out.append(f"{sub}: unexpected {actual[key]!r}"[:200])
            else:
                out += _leaf_differences(expected[key], actual[key], sub)
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += _leaf_differences(e, a, f"{path}[{i}]")
        return out
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"[:300]]
    return []


def differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """One line per difference, with the JSON path inside the payload where it differs."""
    lines = [f"missing topic {t}" for t in sorted(set(expected) - set(actual))]
    lines += [
        f"unexpected topic {t}: {actual[t]!r}"[:300] for t in sorted(set(actual) - set(expected))
    ]
    for topic in sorted(set(expected) & set(actual)):
        lines += [f"{topic} {d}" for d in _leaf_differences(expected[topic], actual[topic], "")]
    return lines


def check(name: str, actual: Mapping[str, Any]) -> None:
    """Compare with ``golden/<name>.json``, or rewrite it when ``E27BRIDGE_UPDATE_GOLDEN=1``."""
    path = GOLDEN_DIR / f"{name}.json"
    if os.environ.get(UPDATE_ENV) == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return
    if not path.exists():
        raise AssertionError(f"{path} is missing: run the test with {UPDATE_ENV}=1 to create it")
    expected = json.loads(path.read_text())
    diff = differences(expected, actual)
    assert not diff, (
        f"retained tree differs from {path.name} ({len(diff)} differences; "
        f"if intended, regenerate with {UPDATE_ENV}=1):\n" + "\n".join(diff[:40])
    )
