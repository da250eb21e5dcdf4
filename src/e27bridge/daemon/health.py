"""The health file: the running daemon writes it, ``e27bridge health`` judges it.

A file in the state directory rather than a socket or port keeps the health check free of
network exposure and works the same under Docker's HEALTHCHECK and a systemd timer.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e27bridge.files import write_private_file

HEALTH_FILE = "health.json"
WRITE_INTERVAL = 10.0
MAX_AGE = 60.0
LINK_REQUIRED = "link_required"  # ConnectionState.LINK_REQUIRED, as written to the file


class HealthFileError(Exception):
    """The health file is missing or unreadable; the message says which."""


@dataclass(frozen=True, slots=True)
class PanelStatus:
    """One panel as ``e27bridge status`` shows it; written beside the health verdict."""

    mac: str
    state: str
    host: str | None = None
    port: int | None = None
    rtt_ms: float | None = None
    queue_depth: int = 0
    reconnects: int = 0
    last_error: str | None = None
    last_event: str | None = None
    last_event_at: float | None = None  # wall clock

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PanelStatus:
        """Lenient: a field of the wrong type is left out, never fatal for the health check."""
        known: dict[str, Any] = {}
        for name, kind in _STATUS_TYPES.items():
            value = data.get(name)
            if isinstance(value, kind) and not isinstance(value, bool):
                known[name] = value
        return cls(mac=str(data.get("mac", "")), state=str(data.get("state", "")), **known)


_STATUS_TYPES: Mapping[str, type | tuple[type, ...]] = {
    "host": str,
    "port": int,
    "rtt_ms": (int, float),
    "queue_depth": int,
    "reconnects": int,
    "last_error": str,
    "last_event": str,
    "last_event_at": (int, float),
}


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One snapshot: when, whether MQTT is connected, and each panel's state by panel id."""

    timestamp: float
    mqtt_connected: bool
    panels: Mapping[str, str] = field(default_factory=dict)
    pid: int = 0
    version: str = ""
    internal_errors: tuple[str, ...] = ()  # recent bugs caught by the supervisor
    status: Mapping[str, PanelStatus] = field(default_factory=dict)  # by panel id

    def to_json(self) -> str:
        return json.dumps(
            {
                "timestamp": self.timestamp,
                "mqtt_connected": self.mqtt_connected,
                "panels": dict(self.panels),
                "pid": self.pid,
                "version": self.version,
                "internal_errors": list(self.internal_errors),
                "status": {pid: row.to_dict() for pid, row in self.status.items()},
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> HealthReport:
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        panels = data.get("panels", {})
        if not isinstance(panels, dict):
            raise ValueError("panels is not an object")
        errors = data.get("internal_errors", [])
        if not isinstance(errors, list):
            raise ValueError("internal_errors is not a list")
        status = data.get("status", {})
        if not isinstance(status, dict):
            raise ValueError("status is not an object")
        timestamp = data["timestamp"]
        if not isinstance(timestamp, int | float) or isinstance(timestamp, bool):
            raise ValueError("timestamp is not a number")
        return cls(
            timestamp=float(timestamp),
            mqtt_connected=data.get("mqtt_connected") is True,
            panels={str(k): str(v) for k, v in panels.items()},
            pid=int(data.get("pid", 0)),
            version=str(data.get("version", "")),
            internal_errors=tuple(str(e) for e in errors),
            status={
                str(k): PanelStatus.from_dict(v) for k, v in status.items() if isinstance(v, dict)
            },
        )


def health_path(state_dir: Path) -> Path:
    return Path(state_dir) / HEALTH_FILE


def write_health(
    state_dir: Path,
    *,
    mqtt_connected: bool,
    panels: Mapping[str, str],
    internal_errors: tuple[str, ...] = (),
    status: Mapping[str, PanelStatus] | None = None,
    now: float | None = None,
) -> HealthReport:
    """Write the current health atomically (call every ~``WRITE_INTERVAL`` seconds).

    Mode 0644: it holds no secrets and a monitoring user may read it.
    """
    from e27bridge import __version__  # noqa: PLC0415 - avoid a cycle at import time

    report = HealthReport(
        timestamp=time.time() if now is None else now,
        mqtt_connected=mqtt_connected,
        panels=dict(panels),
        pid=os.getpid(),
        version=__version__,
        internal_errors=internal_errors,
        status=dict(status or {}),
    )
    state_dir = Path(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private_file(health_path(state_dir), (report.to_json() + "\n").encode(), mode=0o644)
    return report


def read_health(state_dir: Path) -> HealthReport:
    path = health_path(state_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HealthFileError(f"{path} not found: is the daemon running?") from None
    except OSError as exc:
        raise HealthFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return HealthReport.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise HealthFileError(f"{path}: unreadable health file ({exc})") from None


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 delivers nothing, it only checks)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def problems(
    report: HealthReport,
    now: float | None = None,
    max_age: float = MAX_AGE,
    alive: Callable[[int], bool] = process_alive,
) -> list[str]:
    """Why the daemon is unhealthy; empty when healthy.

    A restart cannot fix an unreachable panel, so a panel that is merely disconnected does
    not count. What does: a dead daemon (the file outlives it), a stalled loop (stale
    file), a lost broker, a recent internal error (a bug, logged with its traceback) and a
    panel in ``link_required``, which needs a person.
    """
    now = time.time() if now is None else now
    found: list[str] = []
    if not alive(report.pid):
        found.append(f"daemon process {report.pid} is not running")
    age = now - report.timestamp
    if age > max_age:
        found.append(f"health file is {age:.0f} s old (limit {max_age:.0f} s): daemon stalled")
    if not report.mqtt_connected:
        found.append("not connected to the MQTT broker")
    found.extend(report.internal_errors)
    unlinked = sorted(p for p, state in report.panels.items() if state == LINK_REQUIRED)
    if unlinked:
        found.append(f"not linked, run `e27bridge link`: {', '.join(unlinked)}")
    return found
