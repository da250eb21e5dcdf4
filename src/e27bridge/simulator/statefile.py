"""The simulated panel's non-volatile memory: one JSON file, written atomically with mode 0600.

It holds what a real panel keeps across a power cycle or a move to another address: the
link table (client ``sn`` and its link keys), user codes, area arm states and alarm
memory, bypasses, output/light/lock/barrier states, thermostat modes and setpoints, and the
event log (ADR-0210). The file contains link keys and PINs, so it is private to its owner.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e27bridge.files import write_private_file
from e27bridge.protocol.identity import LinkKeys

FORMAT = "e27bridge-simulator-state/1"


class StateFileError(ValueError):
    """The state file exists but cannot be used; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class PanelMemory:
    """One panel's saved memory (keys and codes never in repr)."""

    mac: str
    links: dict[str, LinkKeys] = field(repr=False)
    panel: dict[str, Any] = field(repr=False)


def load(path: Path, mac: str) -> PanelMemory | None:
    """The memory saved for panel ``mac``, or None when ``path`` does not exist yet."""
    if not path.parent.is_dir():
        raise StateFileError(f"{path}: the directory {path.parent} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read the state file: {exc.strerror}") from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a simulator state file (format {FORMAT!r} expected)")
        links = {
            str(sn): LinkKeys(enc=str(keys["enc"]), hmac=str(keys["hmac"]))
            for sn, keys in data["links"].items()
        }
        memory = PanelMemory(mac=str(data["mac"]), links=links, panel=dict(data["panel"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StateFileError(f"{path}: unusable state file: {_reason(exc)}") from None
    if memory.mac != mac:
        raise StateFileError(
            f"{path}: the state file belongs to panel {memory.mac}, not {mac}; "
            "give that --mac or another --state-file"
        )
    return memory


def save(path: Path, memory: PanelMemory) -> None:
    """Replace ``path`` atomically (0600); the directory must exist."""
    data = {
        "format": FORMAT,
        "mac": memory.mac,
        "links": {sn: {"enc": k.enc, "hmac": k.hmac} for sn, k in sorted(memory.links.items())},
        "panel": memory.panel,
    }
    write_private_file(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
