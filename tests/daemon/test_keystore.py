"""State directory: identity created once, link keys and hints stored atomically at 0600."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from e27bridge.daemon.keystore import KeyStore, KeyStoreError, new_identity
from e27bridge.files import write_private_file
from e27bridge.protocol.identity import ClientIdentity, LinkKeys

MAC = "00:11:22:33:44:aa"
ENC = "00112233445566778899aabbccddeeff"
HMAC = "ffeeddccbbaa99887766554433221100"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_state_returns_none(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "state")
    assert store.load_identity() is None
    assert store.load_link(MAC) is None
    assert store.load_host_hint(MAC) is None
    assert not (tmp_path / "state").exists()  # reading never creates anything


def test_identity_is_created_once_and_stable(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "state")
    first = store.load_or_create_identity()
    assert len(first.sn) == 12 and first.sn == first.sn.upper()
    int(first.sn, 16)
    assert first.mn == "0222"
    assert KeyStore(tmp_path / "state").load_or_create_identity() == first
    assert mode(tmp_path / "state") == 0o700
    assert mode(store.identity_path) == 0o600
    assert new_identity().sn != first.sn


def test_link_keys_round_trip_with_identity_and_modes(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    identity = ClientIdentity(sn="0123456789AB")
    saved = store.save_link("0011.2233.44AA", LinkKeys(enc=ENC, hmac=HMAC), identity)
    path = tmp_path / "links" / "0011223344AA.json"
    assert store.link_path(MAC) == path
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    loaded = store.load_link(MAC)
    assert loaded == saved
    assert loaded is not None
    assert (loaded.keys.enc, loaded.keys.hmac) == (ENC, HMAC)
    assert (loaded.sn, loaded.mn, loaded.mac) == ("0123456789AB", "0222", "0011223344AA")
    assert loaded.matches(identity)
    assert not loaded.matches(ClientIdentity(sn="BA9876543210"))
    assert ENC not in repr(loaded) and HMAC not in repr(loaded)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


def test_loose_links_dir_is_tightened(tmp_path: Path) -> None:
    (tmp_path / "links").mkdir(mode=0o755)
    os.chmod(tmp_path / "links", 0o755)
    KeyStore(tmp_path).save_link(MAC, LinkKeys(enc=ENC, hmac=HMAC), new_identity())
    assert mode(tmp_path / "links") == 0o700


def test_host_hint_round_trip(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.save_host_hint(MAC, "192.168.1.50", 2101)
    hint = store.save_host_hint(MAC, "192.168.1.60", 2102)
    loaded = store.load_host_hint("00-11-22-33-44-AA")
    assert loaded == hint
    assert (loaded.host, loaded.port, loaded.mac) == ("192.168.1.60", 2102, "0011223344AA")
    assert mode(tmp_path / "hints" / "0011223344AA.json") == 0o600


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"mac": "0011223344AA"}', "missing field"),
        (
            json.dumps(
                {
                    "mac": "0011223344AA",
                    "enc": "zz" * 16,
                    "hmac": HMAC,
                    "sn": "A",
                    "mn": "0222",
                    "linked_at": "2024-01-01T00:00:00+00:00",
                }
            ),
            "non-hexadecimal",
        ),
        (
            json.dumps(
                {
                    "mac": "0011223344BB",
                    "enc": ENC,
                    "hmac": HMAC,
                    "sn": "A",
                    "mn": "0222",
                    "linked_at": "2024-01-01T00:00:00+00:00",
                }
            ),
            "another MAC",
        ),
    ],
)
def test_corrupt_link_file_raises_clear_error_without_key(
    tmp_path: Path, content: str, reason: str
) -> None:
    store = KeyStore(tmp_path)
    path = store.link_path(MAC)
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KeyStoreError) as info:
        store.load_link(MAC)
    message = str(info.value)
    assert str(path) in message and reason in message and "e27bridge link" in message
    assert ENC not in message and HMAC not in message


def test_corrupt_identity_and_hint(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.identity_path.write_text('{"sn": "short", "mn": "0222"}', encoding="utf-8")
    with pytest.raises(KeyStoreError, match="sn is not 12 uppercase hex"):
        store.load_or_create_identity()
    store.hint_path(MAC).parent.mkdir()
    store.hint_path(MAC).write_text('{"host": "h", "port": 0, "updated_at": "x"}', encoding="utf-8")
    with pytest.raises(KeyStoreError, match="port out of range"):
        store.load_host_hint(MAC)


def test_atomic_write_keeps_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    write_private_file(target, b"old")

    with pytest.raises(TypeError):
        write_private_file(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    write_private_file(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600


def test_bad_mac_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a MAC address"):
        KeyStore(tmp_path).link_path("../../etc/passwd")
