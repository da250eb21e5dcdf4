"""The simulator's control channel: JSON lines over a Unix socket or loopback TCP.

One JSON object per line in, exactly one JSON object per line back (docs/simulator-control.md).
Each command maps onto one method of a running panel (``ControlledPanel``, which the
runner's ``Simulator`` satisfies), so tests in-process and scripts over the socket drive the
same code. With several panels in one process a command names its panel by MAC or index
(``"panel"``); without it the first panel is meant.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

import structlog

from e27bridge.protocol.discovery import normalize_mac
from e27bridge.simulator.faults import FaultError, FaultState

log = structlog.get_logger("e27bridge.simulator.control")

MAX_LINE = 64 * 1024
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")


class ControlError(ValueError):
    """A bad control command; its message is sent back to the caller."""


def parse_address(address: str) -> tuple[str, int] | str:
    """``host:port`` (loopback only) or a Unix socket path."""
    match = _HOST_PORT.match(address)
    if match is None or "/" in address:
        return address
    host = match["host"].strip("[]")
    port = int(match["port"])
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ControlError(f"control channel must be on loopback, not {host}")
    if port > 65535:
        raise ControlError(f"bad control port {port}")
    return host, port


def _arg(
    command: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = ...
) -> Any:
    value = command.get(name, default)
    if value is ...:
        raise ControlError(f"missing {name!r}")
    if value is not default and (
        (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind)
    ):
        raise ControlError(f"{name!r} has the wrong type")
    return value


class ControlledPanel(Protocol):
    """What the control channel drives (``runner.Simulator``)."""

    mac: str
    faults: FaultState

    @property
    def port(self) -> int: ...
    def describe(self) -> dict[str, Any]: ...
    def stats_snapshot(self) -> dict[str, Any]: ...
    def set_zone(self, zone_id: int, state: str) -> None: ...
    def trigger_alarm(self, area_id: int, zone_id: int | None = None) -> None: ...
    def set_trouble(self, name: str, active: bool) -> None: ...
    def keypad(self, action: str, entity_id: int, pin: int) -> int: ...
    def set_faults(self, **values: Any) -> None: ...
    def clear_faults(self) -> None: ...
    async def restart(self, down_for: float) -> None: ...
    async def move_to_port(self, port: int = 0) -> int: ...
    def revoke_link(self, sn: str | None = None, *, close_sessions: bool = False) -> list[str]: ...
    def change_mac(self, mac: str, *, drop_sessions: bool = True) -> str: ...
    def drop_sessions(self) -> int: ...
    def set_behaviour(self, session_policy: str | None, strict: bool | None) -> dict[str, Any]: ...
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None: ...


Handler = Callable[[ControlledPanel, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _stats(sim: ControlledPanel, _: dict[str, Any]) -> dict[str, Any]:
    return {"stats": sim.stats_snapshot()}


async def _describe(sim: ControlledPanel, _: dict[str, Any]) -> dict[str, Any]:
    return {"simulator": sim.describe()}


async def _set_zone(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    sim.set_zone(_arg(c, "zone_id", int), _arg(c, "state", str))
    return {}


async def _trigger_alarm(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    sim.trigger_alarm(_arg(c, "area_id", int), _arg(c, "zone_id", int, None))
    return {}


async def _keypad(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    action = _arg(c, "action", str)
    entity_id = _arg(c, "zone_id" if action in ("bypass", "unbypass") else "area_id", int)
    pin = _arg(c, "pin", int)
    try:
        code = sim.keypad(action, entity_id, pin)
    except (ValueError, KeyError) as exc:  # an unknown action or id
        raise ControlError(str(exc).strip("'\"")) from None
    return {"error_code": code}


async def _set_trouble(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    sim.set_trouble(_arg(c, "name", str), _arg(c, "active", bool, True))
    return {}


async def _faults(sim: ControlledPanel, _: dict[str, Any]) -> dict[str, Any]:
    return {"faults": sim.faults.as_dict()}


async def _set_faults(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    values = _arg(c, "faults", dict)
    sim.set_faults(**values)
    return {"faults": sim.faults.as_dict()}


async def _clear_faults(sim: ControlledPanel, _: dict[str, Any]) -> dict[str, Any]:
    sim.clear_faults()
    return {"faults": sim.faults.as_dict()}


async def _restart(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    down_for = float(_arg(c, "down_for", (int, float), 1.0))
    if down_for < 0:
        raise ControlError("'down_for' must be >= 0")
    if _arg(c, "wait", bool, False):
        await sim.restart(down_for)
    else:
        sim.spawn(sim.restart(down_for), "sim-restart")
        await asyncio.sleep(0)  # let the port close before the reply goes out
    return {"port": sim.port, "down_for": down_for}


async def _move_to_port(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    port = _arg(c, "port", int, 0)
    if not 0 <= port <= 65535:
        raise ControlError("'port' must be 0..65535")
    return {"port": await sim.move_to_port(port)}


async def _revoke_link(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    removed = sim.revoke_link(
        _arg(c, "sn", str, None), close_sessions=_arg(c, "close_sessions", bool, False)
    )
    return {"revoked": removed}


async def _change_mac(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    try:
        mac = sim.change_mac(
            _arg(c, "mac", str), drop_sessions=_arg(c, "drop_sessions", bool, True)
        )
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    return {"mac": mac}


async def _drop_sessions(sim: ControlledPanel, _: dict[str, Any]) -> dict[str, Any]:
    return {"dropped": sim.drop_sessions()}


async def _set_behaviour(sim: ControlledPanel, c: dict[str, Any]) -> dict[str, Any]:
    policy = _arg(c, "session_policy", str, None)
    if policy is not None and policy not in ("refuse", "replace"):
        raise ControlError("'session_policy' must be 'refuse' or 'replace'")
    return sim.set_behaviour(policy, _arg(c, "strict", bool, None))


async def _ping(_sim: ControlledPanel, _: dict[str, Any]) -> dict[str, Any]:
    return {}


COMMANDS: dict[str, Handler] = {
    "ping": _ping,
    "describe": _describe,
    "stats": _stats,
    "set_zone": _set_zone,
    "trigger_alarm": _trigger_alarm,
    "set_trouble": _set_trouble,
    "keypad": _keypad,
    "faults": _faults,
    "set_faults": _set_faults,
    "clear_faults": _clear_faults,
    "restart": _restart,
    "move_to_port": _move_to_port,
    "revoke_link": _revoke_link,
    "change_mac": _change_mac,
    "drop_sessions": _drop_sessions,
    "set_behaviour": _set_behaviour,
}


def find_panel(panels: Sequence[ControlledPanel], key: Any) -> ControlledPanel:
    """The panel a command names: its MAC (any notation) or its index; None = the first."""
    if key is None:
        return panels[0]
    if isinstance(key, int) and not isinstance(key, bool):
        if 0 <= key < len(panels):
            return panels[key]
        raise ControlError(f"no panel with index {key} (0..{len(panels) - 1})")
    if isinstance(key, str):
        try:
            mac = normalize_mac(key)
        except ValueError:
            mac = ""
        for panel in panels:
            if panel.mac == mac:
                return panel
        raise ControlError(f"no panel with MAC {key!r}")
    raise ControlError("'panel' must be a MAC or an index")


async def _panels(panels: Sequence[ControlledPanel], _: dict[str, Any]) -> dict[str, Any]:
    return {"panels": [panel.describe() for panel in panels]}


async def execute(panels: Sequence[ControlledPanel], command: Any) -> dict[str, Any]:
    """Run one decoded command; always returns the reply object (never raises)."""
    if not isinstance(command, dict):
        return {"ok": False, "error": "a command must be a JSON object"}
    reply: dict[str, Any] = {"id": command["id"]} if "id" in command else {}
    name = command.get("cmd")
    handler = COMMANDS.get(name) if isinstance(name, str) else None
    if handler is None and name != "panels":
        known = ", ".join(["panels", *COMMANDS])
        reply.update(ok=False, error=f"unknown cmd {name!r}; known: {known}")
        return reply
    try:
        if handler is None:
            result = await _panels(panels, command)
        else:
            result = await handler(find_panel(panels, command.get("panel")), command)
    except (ControlError, FaultError, KeyError, ValueError, TypeError) as exc:
        reply.update(ok=False, error=str(exc) or type(exc).__name__)
        return reply
    except Exception as exc:  # a simulator bug must not take the channel down
        log.exception("sim_control_failed", cmd=name)
        reply.update(ok=False, error=f"internal error: {type(exc).__name__}")
        return reply
    reply.update(ok=True, **result)
    return reply


class ControlServer:
    """Serves ``execute`` to JSON-lines clients; one reply line per command line."""

    def __init__(self, panels: Sequence[ControlledPanel]) -> None:
        self._panels = panels
        self._server: asyncio.Server | None = None
        self._path: str | None = None
        self.address: str | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self, address: str) -> None:
        target = parse_address(address)
        if isinstance(target, str):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
            self._server = await asyncio.start_unix_server(self._serve, target, limit=MAX_LINE)
            os.chmod(target, 0o600)
            self._path = self.address = target
        else:
            host, port = target
            self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
            bound = self._server.sockets[0].getsockname()
            self.address = f"{bound[0]}:{bound[1]}"
        log.info("sim_control_listening", address=self.address)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path)
            self._path = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # line longer than MAX_LINE
                    writer.write(b'{"ok":false,"error":"line too long"}\n')
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                command: Any = None
                try:
                    command = json.loads(line)
                except ValueError as exc:
                    reply: dict[str, Any] = {"ok": False, "error": f"not JSON: {exc}"}
                else:
                    reply = await execute(self._panels, command)
                name = command.get("cmd") if isinstance(command, dict) else None
                log.info("sim_control_command", cmd=name, ok=reply["ok"])
                writer.write(json.dumps(reply, separators=(",", ":")).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._clients.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
