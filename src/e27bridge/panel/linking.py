"""The one-time ``api_link`` exchange over its own short TCP connection (protocol §6).

Wrong credentials get no reply from a real panel, so a timeout is reported as "no answer"
without claiming which secret was wrong; this is never retried automatically. The phases
(banner, then the link request and its framed reply) come from ``phases.Connection``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from e27bridge.protocol.errors import LinkFailed, TransportError
from e27bridge.protocol.identity import ClientIdentity, LinkKeys
from e27bridge.protocol.linking import LinkOutcome, LinkSlotsFull
from e27bridge.protocol.phases import Connection, LinkReplied, Role

READ_SIZE = 4096


async def link(
    host: str,
    port: int,
    identity: ClientIdentity,
    *,
    access_code: str,
    passphrase: str,
    timeout: float = 10.0,
) -> LinkKeys:
    """Return the panel's link keys for ``identity``; raises ``LinkFailed``/``TransportError``."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5.0)
    except (OSError, TimeoutError) as exc:
        raise TransportError(f"connect to {host}:{port} failed: {exc}") from exc
    try:
        async with asyncio.timeout(timeout):
            outcome = await _exchange(reader, writer, identity, access_code, passphrase)
    except TimeoutError as exc:
        raise LinkFailed(
            "the panel did not answer: check the access code, the passphrase and the network"
        ) from exc
    except OSError as exc:
        raise TransportError(f"link connection to {host}:{port} failed: {exc}") from exc
    finally:
        writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await writer.wait_closed()
    if isinstance(outcome, LinkKeys):
        return outcome
    if isinstance(outcome, LinkSlotsFull):
        raise LinkFailed(
            "the panel's link table is full: remove an old network device on the panel and retry"
        )
    raise LinkFailed(f"the panel refused the link ({outcome.code}: {outcome.message})")


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    identity: ClientIdentity,
    access_code: str,
    passphrase: str,
) -> LinkOutcome:
    conn = Connection(Role.CLIENT)
    while conn.nonce is None:
        data = await reader.read(READ_SIZE)
        if not data:
            raise TransportError("panel closed the connection before its banner")
        conn.receive(data)
    writer.write(
        conn.start_link(
            identity,
            access_code=access_code,
            passphrase=passphrase,
            cnonce=secrets.token_hex(20),
        )
    )
    await writer.drain()
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            raise LinkFailed("panel closed the connection without a link reply")
        for event in conn.receive(data):
            if isinstance(event, LinkReplied):
                return event.outcome
