"""A TCP relay in front of the broker, so a test can drop a client's connection abruptly.

``cut()`` aborts every relayed connection the way a crash or a pulled cable would: the
broker sees no DISCONNECT and publishes the client's will.
"""

from __future__ import annotations

import asyncio
import contextlib


class Relay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._pipes: set[asyncio.Task[None]] = set()
        self.downstream = asyncio.Event()  # cleared: broker -> client bytes are held back
        self.downstream.set()
        self.latency = 0.0  # s added to every broker -> client chunk

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        for task in list(self._pipes):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def cut(self) -> None:
        """Abort every relayed connection on both sides (no FIN handshake, no DISCONNECT)."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers += [writer, up_writer]
        for source, sink, relay in ((reader, up_writer, None), (up_reader, writer, self)):
            task = asyncio.create_task(_pipe(source, sink, relay))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)


async def _pipe(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, relay: Relay | None
) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            if relay is not None:
                await relay.downstream.wait()
                if relay.latency:
                    await asyncio.sleep(relay.latency)
            sink.write(data)
            await sink.drain()
    sink.transport.abort()
