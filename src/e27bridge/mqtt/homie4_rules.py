"""Homie 4.0 rules over a retained topic tree: required attributes, ids, datatypes, formats,
values, and what a ``ready`` device owes. Used by the tests on everything the bridge
publishes; kept in the package so the same check runs on a capture from a live broker.

A retained empty string cannot exist in MQTT (an empty retained payload deletes), so a
missing ``$extensions`` or string value counts as the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from e27bridge.mqtt.homie_rules import value_errors
from e27bridge.mqtt.topics import is_homie_id

STATES = frozenset({"init", "ready", "disconnected", "sleeping", "lost", "alert"})
DATATYPES = frozenset({"integer", "float", "boolean", "string", "enum", "color"})
_RANGE = re.compile(r"^-?[0-9]+(\.[0-9]+)?:-?[0-9]+(\.[0-9]+)?$")
_NODE_ATTRIBUTES = ("$name", "$type", "$properties")
_PROPERTY_ATTRIBUTES = frozenset(
    {"$name", "$datatype", "$format", "$settable", "$retained", "$unit"}
)


class _Device:
    def __init__(self, tree: Mapping[str, bytes], base: str) -> None:
        self.tree = tree
        self.base = base
        self.errors: list[str] = []
        self.allowed = {f"{base}/{a}" for a in ("$homie", "$name", "$state", "$nodes")}
        self.allowed |= {f"{base}/$extensions", f"{base}/$implementation"}

    def text(self, topic: str) -> str | None:
        payload = self.tree.get(topic)
        return None if payload is None else payload.decode("utf-8", "replace")

    def ids(self, topic: str, what: str) -> list[str]:
        """A comma-separated id list (``$nodes``, ``$properties``), each id checked."""
        text = self.text(topic)
        if text is None:
            self.errors.append(f"{topic} missing")
            return []
        ids = text.split(",") if text else []
        self.errors += [f"{topic}: {what} id {i!r}" for i in ids if not is_homie_id(i)]
        return [i for i in ids if is_homie_id(i)]

    def check(self) -> list[str]:
        homie = self.text(f"{self.base}/$homie")
        if homie is None or not homie.startswith("4."):
            self.errors.append(f"{self.base}/$homie is {homie!r}, not 4.x")
        if self.text(f"{self.base}/$name") is None:
            self.errors.append(f"{self.base}/$name missing")
        state = self.text(f"{self.base}/$state")
        if state not in STATES:
            self.errors.append(f"{self.base}/$state {state!r}")
        for node in self.ids(f"{self.base}/$nodes", "node"):
            self.node(f"{self.base}/{node}", ready=state == "ready")
        stray = sorted(
            t for t in self.tree if t.startswith(self.base + "/") and t not in self.allowed
        )
        self.errors += [f"{t}: not a Homie 4 topic of this device" for t in stray]
        return self.errors

    def node(self, node: str, ready: bool) -> None:
        for attribute in _NODE_ATTRIBUTES[:2]:
            self.allowed.add(f"{node}/{attribute}")
            if self.text(f"{node}/{attribute}") is None:
                self.errors.append(f"{node}/{attribute} missing")
        self.allowed.add(f"{node}/$properties")
        for prop in self.ids(f"{node}/$properties", "property"):
            self.property(f"{node}/{prop}", ready)

    def property(self, prop: str, ready: bool) -> None:
        self.allowed |= {f"{prop}/{a}" for a in _PROPERTY_ATTRIBUTES}
        attributes = {a: self.text(f"{prop}/{a}") for a in _PROPERTY_ATTRIBUTES}
        datatype, fmt = attributes["$datatype"], attributes["$format"]
        if attributes["$name"] is None:
            self.errors.append(f"{prop}/$name missing")
        if datatype not in DATATYPES:
            self.errors.append(f"{prop}/$datatype {datatype!r}")
            return
        self.errors += [f"{prop}/$format: {e}" for e in _format_errors(datatype, fmt)]
        for flag in ("$settable", "$retained"):
            if attributes[flag] not in (None, "true", "false"):
                self.errors.append(f"{prop}/{flag} {attributes[flag]!r}")
        retained = attributes["$retained"] != "false"
        value = self.tree.get(prop)
        if retained:
            self.allowed.add(prop)
        if value is not None:
            spec = {"datatype": datatype, "format": fmt}
            self.errors += [f"{prop}: {e}" for e in value_errors(spec, value)]
            if not retained:
                self.errors.append(f"{prop}: retained value of a non-retained property")
        elif retained and ready and datatype != "string":
            self.errors.append(f"{prop}: no value while the device is ready")


def _format_errors(datatype: str, fmt: str | None) -> list[str]:
    if datatype in ("enum", "color") and not fmt:
        return ["required"]
    if fmt is None:
        return []
    if datatype in ("integer", "float") and not _RANGE.match(fmt):
        return [f"{fmt!r} is not from:to"]
    if datatype == "enum" and (
        any(v == "" for v in fmt.split(",")) or len(set(fmt.split(","))) != len(fmt.split(","))
    ):
        return [f"{fmt!r} has an empty or repeated value"]
    if datatype == "color" and fmt not in ("rgb", "hsv"):
        return [f"{fmt!r} is not rgb or hsv"]
    return []


def homie4_errors(tree: Mapping[str, bytes], prefix: str, device_ids: list[str]) -> list[str]:
    """Every problem of the named Homie 4 devices under ``prefix`` (empty list: valid)."""
    errors: list[str] = []
    for device in device_ids:
        if not is_homie_id(device):
            errors.append(f"device id {device!r}")
        errors += _Device(tree, f"{prefix}/{device}").check()
    return errors
