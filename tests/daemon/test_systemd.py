"""sd_notify over a real AF_UNIX datagram socket, path and abstract namespace."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e27bridge.daemon.systemd import SystemdNotifier


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp_path / "notify")
    sock.bind(path)
    sock.settimeout(2)
    yield sock, path
    sock.close()


def received(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_messages_reach_a_path_socket(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("2 panels ready\nmqtt up")
    assert received(sock) == ["READY=1", "STATUS=2 panels ready mqtt up"]
    assert notifier.status("reconnecting to home")
    assert received(sock) == ["STATUS=reconnecting to home"]
    assert notifier.watchdog()
    assert received(sock) == ["WATCHDOG=1"]
    assert notifier.stopping()
    assert received(sock) == ["STOPPING=1"]
    notifier.close()


def test_abstract_namespace_socket() -> None:
    name = f"e27bridge-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        notifier = SystemdNotifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready()
        assert received(sock) == ["READY=1"]
        notifier.close()
    finally:
        sock.close()


def test_no_op_without_systemd() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert notifier.watchdog_interval is None
    assert SystemdNotifier({"NOTIFY_SOCKET": "relative"}).enabled is False


def test_vanished_socket_is_survived(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.enabled
    assert notifier.ready() is False  # logged, not raised


def test_watchdog_interval_from_environment(listener: tuple[socket.socket, str]) -> None:
    _, path = listener
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "30000000"}
    assert SystemdNotifier(env).watchdog_interval == 15.0
    mine = {**env, "WATCHDOG_PID": str(os.getpid())}
    assert SystemdNotifier(mine).watchdog_interval == 15.0
    other = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}
    assert SystemdNotifier(other).watchdog_interval is None
    assert SystemdNotifier({**env, "WATCHDOG_USEC": "x"}).watchdog_interval is None
    assert SystemdNotifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval is None
