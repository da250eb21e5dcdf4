"""The state directory: the bridge's client identity, link keys and host hints per panel.

Layout under ``state_dir``: ``identity.json``, ``links/<MAC>.json``, ``hints/<MAC>.json``.
Every file is written atomically (temporary file, fsync, rename) with mode 0600 in a 0700
directory, so a crash never leaves half a key and no other user can read one. The identity
is created once per installation and never borrowed from another client (issue 4 item 9).
Key material never appears in an exception message, a repr or a log line.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from e27bridge.files import write_private_file
from e27bridge.protocol.discovery import normalize_mac
from e27bridge.protocol.identity import ClientIdentity, LinkKeys

FORMAT_VERSION = 1
CLIENT_MN = "0222"
DIR_MODE = 0o700


class KeyStoreError(Exception):
    """A state file exists but cannot be used; the message names the file and what to do."""


@dataclass(frozen=True, slots=True)
class StoredLink:
    """Link keys for one panel, with the client identity they were issued to."""

    mac: str
    keys: LinkKeys = field(repr=False)
    sn: str
    mn: str
    linked_at: datetime

    def matches(self, identity: ClientIdentity) -> bool:
        """Keys only work with the identity that made them; a mismatch means re-link."""
        return self.sn == identity.sn and self.mn == identity.mn


@dataclass(frozen=True, slots=True)
class HostHint:
    """Where a panel was last found; only a hint, the MAC decides."""

    mac: str
    host: str
    port: int
    updated_at: datetime


def new_identity() -> ClientIdentity:
    """A fresh identity: 12 random uppercase hex digits, so two installs never collide."""
    return ClientIdentity(sn=secrets.token_hex(6).upper(), mn=CLIENT_MN)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class KeyStore:
    """Reads and writes the bridge's persistent state under one directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)

    def __repr__(self) -> str:
        return f"KeyStore({str(self.state_dir)!r})"

    @property
    def identity_path(self) -> Path:
        return self.state_dir / "identity.json"

    def link_path(self, mac: str) -> Path:
        return self.state_dir / "links" / f"{normalize_mac(mac)}.json"

    def hint_path(self, mac: str) -> Path:
        return self.state_dir / "hints" / f"{normalize_mac(mac)}.json"

    # --- client identity ----------------------------------------------------------------

    def load_identity(self) -> ClientIdentity | None:
        data = self._read(self.identity_path)
        if data is None:
            return None
        try:
            sn, mn = str(data["sn"]), str(data["mn"])
            if len(sn) != 12 or not all(c in "0123456789ABCDEF" for c in sn):
                raise ValueError("sn is not 12 uppercase hex digits")
            return ClientIdentity(
                sn=sn,
                mn=mn,
                fwver=str(data.get("fwver", "1.0")),
                hwver=str(data.get("hwver", "1.0")),
                osver=str(data.get("osver", "1.0")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._corrupt(self.identity_path, exc) from None

    def save_identity(self, identity: ClientIdentity) -> None:
        self._write(
            self.identity_path,
            {"version": FORMAT_VERSION, **identity.as_fields(), "created_at": _iso(_now())},
        )

    def load_or_create_identity(self) -> ClientIdentity:
        """The installation's identity, created and stored on first use."""
        identity = self.load_identity()
        if identity is None:
            identity = new_identity()
            self.save_identity(identity)
        return identity

    # --- link keys ------------------------------------------------------------------------

    def load_link(self, mac: str) -> StoredLink | None:
        path = self.link_path(mac)
        data = self._read(path)
        if data is None:
            return None
        try:
            if normalize_mac(str(data["mac"])) != normalize_mac(mac):
                raise ValueError("file is for another MAC")
            return StoredLink(
                mac=normalize_mac(mac),
                keys=LinkKeys(enc=str(data["enc"]), hmac=str(data["hmac"])),
                sn=str(data["sn"]),
                mn=str(data["mn"]),
                linked_at=datetime.fromisoformat(str(data["linked_at"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            # ValueError from LinkKeys never carries the key itself.
            raise self._corrupt(path, exc) from None

    def save_link(self, mac: str, keys: LinkKeys, identity: ClientIdentity) -> StoredLink:
        link = StoredLink(
            mac=normalize_mac(mac), keys=keys, sn=identity.sn, mn=identity.mn, linked_at=_now()
        )
        self._write(
            self.link_path(mac),
            {
                "version": FORMAT_VERSION,
                "mac": link.mac,
                "enc": keys.enc,
                "hmac": keys.hmac,
                "sn": link.sn,
                "mn": link.mn,
                "linked_at": _iso(link.linked_at),
            },
        )
        return link

    # --- host hints -----------------------------------------------------------------------

    def load_host_hint(self, mac: str) -> HostHint | None:
        path = self.hint_path(mac)
        data = self._read(path)
        if data is None:
            return None
        try:
            port = int(data["port"])
            if not 0 < port < 65536:
                raise ValueError("port out of range")
            return HostHint(
                mac=normalize_mac(mac),
                host=str(data["host"]),
                port=port,
                updated_at=datetime.fromisoformat(str(data["updated_at"])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise self._corrupt(path, exc) from None

    def save_host_hint(self, mac: str, host: str, port: int) -> HostHint:
        hint = HostHint(mac=normalize_mac(mac), host=host, port=port, updated_at=_now())
        self._write(
            self.hint_path(mac),
            {"host": host, "port": port, "updated_at": _iso(hint.updated_at)},
        )
        return hint

    # --- plumbing -------------------------------------------------------------------------

    def _ensure_dir(self, directory: Path) -> None:
        if not self.state_dir.exists():
            self.state_dir.mkdir(mode=DIR_MODE, parents=True)
        if directory != self.state_dir:
            directory.mkdir(mode=DIR_MODE, exist_ok=True)
            if directory.stat().st_mode & 0o077:
                directory.chmod(DIR_MODE)

    def _write(self, path: Path, payload: dict[str, Any]) -> None:
        self._ensure_dir(path.parent)
        text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
        write_private_file(path, text.encode("utf-8"))

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._corrupt(path, exc) from None
        if not isinstance(data, dict):
            raise self._corrupt(path, ValueError("not a JSON object"))
        return data

    @staticmethod
    def _corrupt(path: Path, exc: BaseException) -> KeyStoreError:
        reason = exc.args[0] if isinstance(exc, KeyError | ValueError) and exc.args else exc
        if isinstance(exc, KeyError):
            reason = f"missing field {exc.args[0]!r}"
        if isinstance(exc, json.JSONDecodeError):
            reason = f"not valid JSON (line {exc.lineno})"
        return KeyStoreError(
            f"{path}: corrupt state file ({reason}); move it away and run 'e27bridge link' "
            "again if it held link keys"
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat()
