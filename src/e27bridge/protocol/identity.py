"""The client identity a link is bound to, and the long-lived link keys (secrets)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """``sn`` keys the link on the panel: unique per installation and never borrowed."""

    sn: str
    mn: str = "0222"
    fwver: str = "1.0"
    hwver: str = "1.0"
    osver: str = "1.0"

    def as_fields(self) -> dict[str, str]:
        return {
            "mn": self.mn,
            "sn": self.sn,
            "fwver": self.fwver,
            "hwver": self.hwver,
            "osver": self.osver,
        }


@dataclass(frozen=True, slots=True)
class LinkKeys:
    """``enc`` decrypts every HELLO's session key; ``hmac`` is reserved by the vendor."""

    enc: str = field(repr=False)
    hmac: str = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.enc) != 32:
            raise ValueError("link key must be 32 hex characters")
        bytes.fromhex(self.enc)
        bytes.fromhex(self.hmac)

    def __repr__(self) -> str:
        return "LinkKeys(<redacted>)"
