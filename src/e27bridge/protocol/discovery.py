"""UDP discovery (protocol §3) and the cleartext connect banner (§2.3)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from e27bridge.protocol.cleartext import dumps

DISCOVERY_PORT = 2362
API_PORT = 2101
PROBE = b'{"FIND":"ELKWCID"}'
MARKER = "ELKWC2017"

_HEX12 = re.compile(r"^[0-9A-F]{12}$")


def normalize_mac(value: str) -> str:
    """12 uppercase hex digits from ``aa:bb..``, ``AA-BB..``, ``aabb.ccdd.eeff`` or bare hex."""
    mac = re.sub(r"[\s:.\-]", "", value).upper()
    if not _HEX12.match(mac) or mac == "000000000000":
        raise ValueError(f"not a MAC address: {value!r}")
    return mac


def format_mac(mac: str) -> str:
    mac = normalize_mac(mac)
    return ":".join(mac[i : i + 2] for i in range(0, 12, 2))


@dataclass(frozen=True, slots=True)
class PanelAnnouncement:
    """One panel's discovery reply; ``host`` is the datagram's source address."""

    mac: str
    host: str
    port: int
    tls_port: int
    name: str
    serial: str
    reported_ipv4: str


def is_probe(datagram: bytes) -> bool:
    """Panel side: parse as JSON rather than compare bytes (old clients put spaces in)."""
    try:
        value = json.loads(datagram.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(value, dict) and value.get("FIND") == "ELKWCID"


def _port(value: Any, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if minimum <= value <= 65535 else None


def parse_reply(datagram: bytes, source_host: str) -> PanelAnnouncement | None:
    """Client side: ``None`` for anything that is not a usable panel reply."""
    if datagram == PROBE or MARKER.encode() not in datagram:
        return None
    try:
        value = json.loads(datagram.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    port = _port(value.get("LISTEN_PORT"), 1)
    tls_port = _port(value.get("ENCRYPTED_LISTEN_PORT", 0), 0)
    if port is None or tls_port is None:
        return None
    try:
        mac = normalize_mac(str(value.get("MAC_ADDR", "")))
    except ValueError:
        return None
    return PanelAnnouncement(
        mac=mac,
        host=source_host,
        port=port,
        tls_port=tls_port,
        name=str(value.get("NAME", "")).strip(),
        serial=str(value.get("SERIAL", "")),
        reported_ipv4=str(value.get("IPV4_ADDR", "")),
    )


def build_reply(
    *, name: str, mac: str, ipv4: str, port: int, tls_port: int = 0, serial: str = ""
) -> bytes:
    """Panel side: the discovery reply datagram."""
    return dumps(
        {
            MARKER: "Hello",
            "NAME": name,
            "MAC_ADDR": format_mac(mac),
            "IPV4_ADDR": ipv4,
            "LISTEN_PORT": port,
            "ENCRYPTED_LISTEN_PORT": tls_port,
            "SERIAL": serial,
        }
    )


def build_banner(nonce: str, local_time: str) -> bytes:
    """Panel side: the two cleartext objects sent on every accepted connection."""
    return dumps({MARKER: "Hello", "nonce": nonce}) + dumps({"LOCAL": local_time})


def banner_nonce(obj: dict[str, Any]) -> str | None:
    nonce = obj.get("nonce")
    return nonce if MARKER in obj and isinstance(nonce, str) and nonce else None
