"""``Session.close`` is deterministic: nothing it started outlives it, even when the panel
stopped reading and a background write drain is still waiting for the socket."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from e27bridge.panel.session import Session, SessionTimeouts
from e27bridge.protocol.requests import RequestSpec
from e27bridge.simulator.runner import Simulator
from waiting import tasks_named

from .conftest import IDENTITY, link_to

# Frames of about 3 kB (the frame limit is 4 kB), 32 MB in all: more than the loopback
# socket buffers hold, so the write cannot finish at once.
PAD = "x" * 3000
FRAMES = 32 * 1024 * 1024 // len(PAD)


class StallingProxy:
    """TCP between the session and the real simulator that can stop reading from the
    session (a panel that hangs without closing its socket)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._stalled = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def stall(self) -> None:
        self._stalled.set()

    async def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.bind(("127.0.0.1", 0))
        self.server = await asyncio.start_server(self._accept, sock=sock)

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._writers += [writer, up_writer]
        for task in (self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False)):
            self._tasks.add(asyncio.create_task(task))

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stallable: bool
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(4096):
                writer.write(data)
                await writer.drain()
                if stallable and self._stalled.is_set():
                    await asyncio.Event().wait()  # never reads again


@asynccontextmanager
async def stalling_proxy(sim: Simulator) -> AsyncIterator[StallingProxy]:
    proxy = StallingProxy((sim.host, sim.port))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


async def test_close_cancels_a_blocked_write_drain(
    simulator: Callable[..., AbstractAsyncContextManager[Simulator]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with simulator() as sim:
        linked = await link_to(sim)
        async with stalling_proxy(sim) as proxy:
            closed: list[str] = []
            session = Session(
                "127.0.0.1",
                proxy.port,
                IDENTITY,
                linked.keys,
                on_message=lambda s, m: None,
                on_closed=lambda s, reason: closed.append(reason),
                timeouts=SessionTimeouts(connect=2.0, hello=2.0, write=60.0),
            )
            await session.open()
            proxy.stall()
            for seq in range(FRAMES):
                session.send(seq, RequestSpec("system", "get_status", {"pad": PAD}))
            await asyncio.sleep(0)
            assert tasks_named("e27-drain-127.0.0.1"), "the write did not need a drain"

            await asyncio.wait_for(session.close(), 5.0)

            assert closed == ["closed by bridge"]
            assert not tasks_named("e27-drain-127.0.0.1")
            assert not tasks_named("e27-pump-127.0.0.1")
            with caplog.at_level(logging.ERROR, logger="asyncio"):
                gc.collect()
            assert "Task was destroyed but it is pending" not in caplog.text
