"""Panel error codes (protocol §11) and the one exception hierarchy of e27bridge."""

from __future__ import annotations

import enum


class PanelErrorCode(enum.IntEnum):
    NONE = 0
    UNRECOGNIZED_CMD = 11001
    ID_EXISTS = 11002
    INVALID_TABLE = 11003
    INVALID_PARAM = 11004
    NOT_ENOUGH_SPACE = 11005
    INVALID_ID = 11006
    TIMEOUT = 11007
    NOAUTH = 11008
    MISSING = 11009
    CALLBACK_INVALID = 11010
    NO_RESP = 11011
    DUPLICATE_PIN = 11012
    DUPLICATE_NAME = 11013
    INVALID_MEDIA = 11014
    NOT_READY = 11015
    IN_USE = 11016
    STORAGE_NOT_READY = 11017
    UNKNOWN_BUS_MODULE = 11018
    IN_USE_BY_RULE = 11019
    STRING_TRUNCATED = 11020
    INVALID_CACHE = 11021
    INVALID_MODE = 11022
    NOT_BYPASSABLE = 11023
    REBOOT_REQ = 11024
    CLOUD_BROKER_ALREADY_CONNECTED = 11025
    CLOUD_TOO_MANY_SESSIONS = 11026
    IN_ALARM = 11027
    NOT_ALLOWED_WHEN_ARMED = 11028
    TWO_WAY_SMOKE_NOT_ALLOWED = 11029
    INCOMPATIBLE = 11030
    UPDATING = 11031
    DUPLICATE_SN = 11032
    INVALID_AREA = 11033
    NOT_ENABLE = 11034
    RCVD_DONE = 11035
    INVALID_SESSION = 11036
    INVALID_PIN = 11037
    DURESS_USER_NOT_ALLOWED = 11038
    ZWAVE_BUSY = 11039
    ZWAVE_DONE = 11040
    UNKNOWN = 0xFFFFFFFF


_REASONS: dict[int, str] = {
    11001: "command not recognised by the panel",
    11004: "invalid parameter (for arm/disarm: wrong user code)",
    11005: "panel table full",
    11006: "no such id",
    11008: "not authorised (user code needed or insufficient privilege)",
    11011: "device did not respond",
    11015: "area not ready (open zones)",
    11016: "in use",
    11022: "invalid mode",
    11023: "zone cannot be bypassed",
    11027: "area in alarm: disarm first",
    11028: "not allowed while armed",
    11033: "invalid area",
    11036: "invalid session",
    11037: "invalid user code",
    11038: "duress code not allowed",
    11039: "Z-Wave network busy",
}


def reason_for(code: int) -> str:
    """A short human reason for a panel error code, for result topics and logs."""
    if code in _REASONS:
        return _REASONS[code]
    try:
        return PanelErrorCode(code).name.lower().replace("_", " ")
    except ValueError:
        return f"panel error {code}"


class E27Error(Exception):
    """Base of every error e27bridge raises about a panel."""


class TransportError(E27Error):
    """The TCP/UDP connection failed or closed."""


class ProtocolError(E27Error):
    """Bytes or JSON from the peer do not follow the protocol."""


class EnvelopeError(ProtocolError):
    """A CRC-valid frame that does not decrypt to a valid schema-0 envelope."""


class MalformedMessage(ProtocolError):
    """A decrypted payload that is not one well-formed E27 JSON message."""


class PanelRejected(E27Error):
    """The panel answered with a non-zero error code."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.panel_message = message
        super().__init__(f"{code}: {message or reason_for(code)}")


class LinkFailed(E27Error):
    """API_LINK did not produce link keys."""
