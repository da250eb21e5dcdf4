"""MQTT over TLS against a real mosquitto, with a throwaway PKI made at test time.

The broker has only a TLS listener, so anything that arrives went over TLS. Settings come
from ``[mqtt.tls]`` through ``e27bridge.app.connection_settings``, as the daemon builds them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from structlog.testing import capture_logs

from e27bridge.app import bridge_settings, connection_settings
from e27bridge.daemon.config import Config
from e27bridge.mqtt.bridge import MqttBridge
from e27bridge.mqtt.connection import MqttConnection, Will
from e27bridge.panel.bus import EventBus
from waiting import wait_until

from .conftest import Broker, running
from .factories import MAC, snapshot
from .fakes import FakeDirectory, FakePanel

PANEL = "home"
DNS_NAME = "broker.test"
CONNECT_WAIT = 10.0  # generous: a loaded 2-core runner


# --- a throwaway PKI ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pair:
    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class Pki:
    ca: Path
    other_ca: Path  # trusted by nobody: a wrong CA file
    server_ip: Pair  # valid for 127.0.0.1 (IP SAN)
    server_dns: Pair  # valid for broker.test only
    client: Pair  # client certificate signed by the CA


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Private keys are created 0600 from the start (never world-readable, even briefly)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    san: x509.GeneralName | None = None,
    usage: x509.ObjectIdentifier | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), False
        )
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
    return builder.sign(signing_key, hashes.SHA256())


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _leaf(
    directory: Path,
    stem: str,
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    san: x509.GeneralName | None,
    usage: x509.ObjectIdentifier,
) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    pair = Pair(directory / f"{stem}.crt", directory / f"{stem}.key")
    _write_cert(pair.cert, _certificate(stem, key, ca, san=san, usage=usage))
    _write_key(pair.key, key)
    return pair


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("e27bridge test CA", ca_key, None)
    other_key = ec.generate_private_key(ec.SECP256R1())
    _write_cert(directory / "ca.crt", ca_cert)
    _write_cert(directory / "other-ca.crt", _certificate("someone else's CA", other_key, None))
    ca = (ca_cert, ca_key)
    server = ExtendedKeyUsageOID.SERVER_AUTH
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    return Pki(
        ca=directory / "ca.crt",
        other_ca=directory / "other-ca.crt",
        server_ip=_leaf(directory, "server-ip", ca, loopback, server),
        server_dns=_leaf(directory, "server-dns", ca, x509.DNSName(DNS_NAME), server),
        client=_leaf(directory, "client", ca, None, ExtendedKeyUsageOID.CLIENT_AUTH),
    )


def test_the_generated_keys_are_private(pki: Pki) -> None:
    for pair in (pki.server_ip, pki.server_dns, pki.client):
        assert pair.key.stat().st_mode & 0o777 == 0o600


# --- broker, config and a second TLS client -------------------------------------------


@contextlib.contextmanager
def tls_broker(
    directory: Path, pki: Pki, server: Pair, *, require_client_cert: bool = False
) -> Iterator[Broker]:
    """A mosquitto whose only listener (loopback, free port) speaks TLS.

    The shared fixture's ``user root`` matters here too: started as root, mosquitto would
    drop to its own user before reading our 0600 keys.
    """
    extra = f"cafile {pki.ca}\ncertfile {server.cert}\nkeyfile {server.key}\n"
    if require_client_cert:
        extra += "require_certificate true\n"
    broker = Broker(directory, extra)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def tls_config(port: int, **tls: Any) -> Config:
    return Config.model_validate(
        {
            "bridge": {"ha_republish_delay": 0.05},
            "mqtt": {
                "host": "127.0.0.1",
                "port": port,
                "reconnect_min_backoff": 0.05,
                "reconnect_max_backoff": 0.2,
                "tls": {"enabled": True, **{k: v for k, v in tls.items() if v is not None}},
            },
            "panels": [{"id": PANEL, "mac": MAC}],
        }
    )


def observer_context(pki: Pki, *, client_cert: bool = False) -> ssl.SSLContext:
    """The test's own TLS client: verifies the chain; the broker's name is not checked."""
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.check_hostname = False
    if client_cert:
        ctx.load_cert_chain(str(pki.client.cert), str(pki.client.key))
    return ctx


@contextlib.asynccontextmanager
async def observer(port: int, ctx: ssl.SSLContext, *filters: str) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, tls_context=ctx, timeout=5
    ) as client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1)
        yield client


async def next_message(client: aiomqtt.Client, topic: str) -> bytes:
    async with asyncio.timeout(5):
        async for message in client.messages:
            if str(message.topic) == topic:
                assert isinstance(message.payload, bytes)
                return message.payload
    raise AssertionError("message stream ended")  # pragma: no cover


@contextlib.asynccontextmanager
async def bridge_running(config: Config) -> AsyncIterator[tuple[MqttBridge, asyncio.Task[None]]]:
    """The whole MQTT layer over a fake engine, with settings built from ``config``."""
    bus = EventBus()
    bridge = MqttBridge(
        FakeDirectory([FakePanel(snapshot(PANEL), bus)], bus), bridge_settings(config)
    )
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def connection(config: Config) -> MqttConnection:
    return MqttConnection(connection_settings(config), will=Will("tls/will", "lost"))


async def assert_publishes(conn: MqttConnection, port: int, ctx: ssl.SSLContext) -> None:
    await asyncio.wait_for(conn.wait_connected(), CONNECT_WAIT)
    async with observer(port, ctx, "tls/#") as client:
        await conn.publish("tls/live", "over tls", retain=False)
        assert await next_message(client, "tls/live") == b"over tls"


# --- it connects and publishes --------------------------------------------------------


def test_from_config_carries_every_tls_field(pki: Pki) -> None:
    config = tls_config(
        8883,
        ca_file=str(pki.ca),
        cert_file=str(pki.client.cert),
        key_file=str(pki.client.key),
        server_name=DNS_NAME,
        insecure=True,
    )
    tls = connection_settings(config).tls
    assert tls is not None
    assert (tls.ca_file, tls.cert_file, tls.key_file) == (
        pki.ca,
        pki.client.cert,
        pki.client.key,
    )
    assert (tls.server_name, tls.insecure) == (DNS_NAME, True)
    plain = Config.model_validate({"panels": [{"id": PANEL, "mac": MAC}]})
    assert connection_settings(plain).tls is None


async def test_bridge_over_tls_with_a_ca_file(tmp_path: Path, pki: Pki) -> None:
    with tls_broker(tmp_path, pki, pki.server_ip) as broker:
        config = tls_config(broker.port, ca_file=str(pki.ca))
        async with bridge_running(config) as (bridge, _task):
            await asyncio.wait_for(bridge.republished.wait(), CONNECT_WAIT)
            assert bridge.conn.connected
            ctx = observer_context(pki)
            state = "e27bridge/bridge/state"
            async with observer(broker.port, ctx, state, f"homie/5/{PANEL}/$state") as client:
                # Retained state (bridge/state comes from the second, state connection).
                assert await next_message(client, state) == b'{"state": "online"}'
            await assert_publishes(bridge.conn, broker.port, ctx)


async def test_bridge_with_a_client_certificate_the_broker_requires(
    tmp_path: Path, pki: Pki
) -> None:
    with tls_broker(tmp_path, pki, pki.server_ip, require_client_cert=True) as broker:
        config = tls_config(
            broker.port,
            ca_file=str(pki.ca),
            cert_file=str(pki.client.cert),
            key_file=str(pki.client.key),
        )
        async with bridge_running(config) as (bridge, _task):
            await asyncio.wait_for(bridge.republished.wait(), CONNECT_WAIT)
            ctx = observer_context(pki, client_cert=True)
            async with observer(broker.port, ctx, "e27bridge/bridge/state") as client:
                payload = await next_message(client, "e27bridge/bridge/state")
                assert payload == b'{"state": "online"}'
            await assert_publishes(bridge.conn, broker.port, ctx)


async def test_server_name_verifies_a_certificate_made_for_another_name(
    tmp_path: Path, pki: Pki
) -> None:
    with tls_broker(tmp_path, pki, pki.server_dns) as broker:
        config = tls_config(broker.port, ca_file=str(pki.ca), server_name=DNS_NAME)
        conn = connection(config)
        async with running(conn):
            await assert_publishes(conn, broker.port, observer_context(pki))


async def test_insecure_accepts_a_certificate_whose_name_does_not_match(
    tmp_path: Path, pki: Pki
) -> None:
    with tls_broker(tmp_path, pki, pki.server_dns) as broker:
        config = tls_config(broker.port, ca_file=str(pki.ca), insecure=True)
        conn = connection(config)
        async with running(conn):
            await assert_publishes(conn, broker.port, observer_context(pki))


async def test_insecure_also_skips_the_chain_check(tmp_path: Path, pki: Pki) -> None:
    """As documented in config/example.toml: both the name and the chain go unchecked."""
    with tls_broker(tmp_path, pki, pki.server_dns) as broker:
        config = tls_config(broker.port, ca_file=str(pki.other_ca), insecure=True)
        conn = connection(config)
        async with running(conn):
            await assert_publishes(conn, broker.port, observer_context(pki))


# --- it fails cleanly -----------------------------------------------------------------


def failures(logs: list[MutableMapping[str, Any]]) -> int:
    return sum(e["event"] == "mqtt_disconnected" for e in logs)


async def never_connects(config: Config) -> list[MutableMapping[str, Any]]:
    """Run the bridge until both connections failed twice: it must keep retrying, stay down
    and not crash."""
    with capture_logs() as logs:
        async with bridge_running(config) as (bridge, task):
            await wait_until(lambda: failures(logs) >= 4, "repeated connection attempts")
            # Each connection's events say which one it is.
            named = {bridge.conn.client_id, bridge.state_conn.client_id}
            await wait_until(
                lambda: (
                    named <= {e.get("client_id") for e in logs if e["event"] == "mqtt_disconnected"}
                ),
                "both connections named in their failures",
            )
            assert not task.done(), "the bridge stopped instead of retrying"
            assert not bridge.conn.connected and not bridge.state_conn.connected
            assert bridge.conn.connects == 0 and bridge.state_conn.connects == 0
            assert not bridge.republished.is_set()
    assert not [e for e in logs if e["log_level"] in ("error", "critical")]
    warnings = [e for e in logs if e["event"] == "mqtt_disconnected"]
    assert all(e["log_level"] == "warning" for e in warnings)
    assert len(warnings) >= 2, "expected repeated attempts"  # it keeps retrying
    return warnings


async def test_without_server_name_the_name_mismatch_is_refused(tmp_path: Path, pki: Pki) -> None:
    with tls_broker(tmp_path, pki, pki.server_dns) as broker:
        warnings = await never_connects(tls_config(broker.port, ca_file=str(pki.ca)))
    error = warnings[0]["error"]
    assert "certificate verify failed" in error and "127.0.0.1" in error, error


async def test_a_wrong_ca_is_refused(tmp_path: Path, pki: Pki) -> None:
    with tls_broker(tmp_path, pki, pki.server_ip) as broker:
        warnings = await never_connects(tls_config(broker.port, ca_file=str(pki.other_ca)))
    assert "certificate verify failed" in warnings[0]["error"], warnings[0]


async def test_a_refused_client_certificate_is_a_clear_timeout(tmp_path: Path, pki: Pki) -> None:
    """Under TLS 1.3 the broker rejects a missing client certificate only after the client's
    handshake has finished, and aiomqtt ignores a close before CONNACK: the attempt ends at
    the connect timeout, which must then say what it means."""
    with tls_broker(tmp_path, pki, pki.server_ip, require_client_cert=True) as broker:
        settings = connection_settings(tls_config(broker.port, ca_file=str(pki.ca)))
        conn = MqttConnection(replace(settings, connect_timeout=0.3), will=Will("tls/w", "x"))
        with capture_logs() as logs:
            async with running(conn) as task:
                await wait_until(lambda: failures(logs) >= 2, "repeated connection attempts")
                assert not task.done() and not conn.connected and conn.connects == 0
    warnings = [e for e in logs if e["event"] == "mqtt_disconnected"]
    assert warnings and all(e["log_level"] == "warning" for e in warnings)
    assert "no CONNACK within 0.3 s" in warnings[0]["error"], warnings[0]
