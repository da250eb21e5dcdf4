"""A minimal sd_notify client: READY, STATUS, WATCHDOG and STOPPING for ``Type=notify``.

Speaks the datagram protocol of sd_notify(3) directly (no libsystemd dependency). Outside
systemd (no ``$NOTIFY_SOCKET``) every call is a cheap no-op, so the daemon needs no
special case for Docker or a terminal.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

_log = structlog.get_logger(__name__)


class SystemdNotifier:
    """Sends state notifications to the service manager, if there is one."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._address = _socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_usec = _watchdog_usec(env)
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between pings: half the watchdog timeout, as sd_watchdog_enabled(3) advises."""
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 2_000_000

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=VALUE`` lines; True if the manager got them, False when not under systemd.

        Failures are logged and swallowed: a notification must never crash the daemon.
        """
        if self._address is None:
            return False
        payload = "\n".join(assignments).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            _log.warning("sd_notify_failed", error=str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={_line(status)}"] if status else []))

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={_line(text)}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={_line(status)}"] if status else []))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _line(text: str) -> str:
    return " ".join(text.splitlines())


def _socket_address(value: str) -> str | None:
    """``@name`` is the abstract namespace (a leading NUL byte); a path otherwise."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None  # meant for another process (e.g. our parent)
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None
