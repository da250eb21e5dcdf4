"""Every topic name the bridge uses, in one place, derived from the configured prefixes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from e27bridge.panel.state import EntityKind

HOMIE_VERSION = "5"
_HOMIE_ID = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_NOT_ID = re.compile(r"[^a-z0-9-]+")


def is_homie_id(text: str) -> bool:
    """Homie v5 topic ids: ``a-z``, ``0-9`` and ``-``, not starting or ending with ``-``."""
    return bool(_HOMIE_ID.match(text))


def homie_id(text: str) -> str:
    """A Homie-safe id from free text (trouble names, for instance)."""
    cleaned = _NOT_ID.sub("-", text.strip().lower()).strip("-")
    return re.sub("-{2,}", "-", cleaned) or "unnamed"


def mac12(mac: str) -> str:
    """``00:11:22:33:44:AA`` -> ``0011223344aa`` (the identity used in unique ids)."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12:
        raise ValueError(f"not a MAC address: {mac!r}")
    return digits


def node_id(kind: EntityKind, number: int) -> str:
    return f"{kind.value}-{number}"


SYSTEM_NODE = "system"


@dataclass(frozen=True, slots=True)
class SetTopic:
    """A parsed ``homie/5/<device>/<node>/<property>/set`` topic (or Homie 4's
    ``homie/<device>/<node>/<property>/set``)."""

    device: str
    node: str
    prop: str
    version: int = 5


@dataclass(frozen=True, slots=True)
class Topics:
    bridge_id: str = "e27bridge"
    base: str = "e27bridge"
    homie_prefix: str = "homie"
    discovery_prefix: str = "homeassistant"
    homie_versions: tuple[int, ...] = (5,)  # the Homie trees published (ADR-0121)

    # -- Homie ---------------------------------------------------------------------------
    @property
    def homie5(self) -> bool:
        """Whether the Homie v5 tree (with the bridge's root device) is published; without
        it, property topics and ``/set`` name the Homie 4 tree."""
        return 5 in self.homie_versions

    def device(self, device_id: str) -> str:
        if not self.homie5:
            return self.device4(device_id)
        return self.device5(device_id)

    def device5(self, device_id: str) -> str:
        """A Homie v5 device whether v5 is published or not (its removal needs it)."""
        return f"{self.homie_prefix}/{HOMIE_VERSION}/{device_id}"

    def device4(self, device_id: str) -> str:
        """A Homie 4 device: ``homie/<device-id>`` (no version level)."""
        return f"{self.homie_prefix}/{device_id}"

    def state(self, device_id: str) -> str:
        return f"{self.device(device_id)}/$state"

    def description(self, device_id: str) -> str:
        return f"{self.device(device_id)}/$description"

    def alert(self, device_id: str, alert_id: str) -> str:
        return f"{self.device(device_id)}/$alert/{alert_id}"

    def prop(self, device_id: str, node: str, prop: str) -> str:
        return f"{self.device(device_id)}/{node}/{prop}"

    def set(self, device_id: str, node: str, prop: str) -> str:
        return f"{self.prop(device_id, node, prop)}/set"

    def target(self, device_id: str, node: str, prop: str) -> str:
        return f"{self.prop(device_id, node, prop)}/$target"

    @property
    def set_filter(self) -> str:
        return self.set_filters[0]

    @property
    def set_filters(self) -> tuple[str, ...]:
        """``/set`` of every published tree (they never overlap: v4 has one level less)."""
        filters = {5: f"{self.homie_prefix}/{HOMIE_VERSION}/+/+/+/set"}
        filters[4] = f"{self.homie_prefix}/+/+/+/set"
        return tuple(filters[v] for v in sorted(self.homie_versions, reverse=True))

    def parse_set(self, topic: str) -> SetTopic | None:
        prefix = f"{self.homie_prefix}/"
        if not topic.startswith(prefix):
            return None  # the prefix may have several levels (``site/homie``)
        parts = topic[len(prefix) :].split("/")
        if parts[-1:] != ["set"]:
            return None
        if len(parts) == 5 and parts[0] == HOMIE_VERSION and self.homie5:
            return SetTopic(device=parts[1], node=parts[2], prop=parts[3])
        if len(parts) == 4 and 4 in self.homie_versions:
            return SetTopic(device=parts[0], node=parts[1], prop=parts[2], version=4)
        return None

    # -- bridge topics -------------------------------------------------------------------
    @property
    def bridge_state(self) -> str:
        return f"{self.base}/bridge/state"

    @property
    def bridge_info(self) -> str:
        return f"{self.base}/bridge/info"

    @property
    def bridge_request_filter(self) -> str:
        return f"{self.base}/bridge/request/+"

    def bridge_request(self, action: str) -> str:
        return f"{self.base}/bridge/request/{action}"

    def bridge_response(self, action: str) -> str:
        return f"{self.base}/bridge/response/{action}"

    def parse_bridge_request(self, topic: str) -> str | None:
        prefix = f"{self.base}/bridge/request/"
        if not topic.startswith(prefix):
            return None
        action = topic[len(prefix) :]
        return action if action and "/" not in action else None

    def panel_response(self, panel_id: str) -> str:
        return f"{self.base}/{panel_id}/response"

    def panel_event(self, panel_id: str) -> str:
        return f"{self.base}/{panel_id}/event"

    def panel_tap(self, panel_id: str) -> str:
        return f"{self.base}/{panel_id}/tap"

    # -- Home Assistant ------------------------------------------------------------------
    def hass_config(self, panel_id: str) -> str:
        return f"{self.discovery_prefix}/device/{panel_id}/config"

    @property
    def hass_config_filter(self) -> str:
        return f"{self.discovery_prefix}/device/+/config"

    def hass_component(self, platform: str, panel_id: str, component_id: str) -> str:
        """Per-component discovery: the panel id is HA's node id, so the discovery id
        (``"<panel> <component>"``) is the one device-based discovery gives the component."""
        return f"{self.discovery_prefix}/{platform}/{panel_id}/{component_id}/config"

    def hass_component_filter(self, panel_id: str) -> str:
        return f"{self.discovery_prefix}/+/{panel_id}/+/config"

    def parse_hass_component(self, topic: str) -> tuple[str, str, str] | None:
        """(platform, panel id, component id) of a per-component discovery topic."""
        parts = topic.split("/")
        prefix = self.discovery_prefix.split("/")
        n = len(prefix)
        if len(parts) != n + 4 or parts[:n] != prefix or parts[n + 3] != "config":
            return None
        platform, panel_id, component_id = parts[n : n + 3]
        if platform == "device" or not all((platform, panel_id, component_id)):
            return None
        return platform, panel_id, component_id

    def parse_hass_config(self, topic: str) -> str | None:
        parts = topic.split("/")
        prefix = self.discovery_prefix.split("/")
        n = len(prefix)
        if len(parts) != n + 3 or parts[:n] != prefix:
            return None
        if parts[n] != "device" or parts[n + 2] != "config":
            return None
        return parts[n + 1]
