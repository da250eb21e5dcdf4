"""Homie v5 rules JSON Schema cannot express: ``format`` per datatype, payload syntax,
namespaced types, and what a ``ready`` device owes (values, ``$target``, described children).

Used by the tests on everything the bridge publishes; kept in the package so a user can run
the same checks against a live broker capture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from e27bridge.mqtt.topics import is_homie_id

_NUMBER = r"-?[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?"
_INT_RANGE = re.compile(r"^(-?[0-9]+)?:(-?[0-9]+)?(:[0-9]+)?$")
_FLOAT_RANGE = re.compile(rf"^({_NUMBER})?:({_NUMBER})?(:{_NUMBER})?$")
_INTEGER = re.compile(r"^-?[0-9]+$")
_FLOAT = re.compile(rf"^{_NUMBER}$")


def _integer_format(fmt: str) -> list[str]:
    match = _INT_RANGE.match(fmt)
    if not match:
        return [f"integer format {fmt!r} is not min:max[:step]"]
    if match.group(1) and match.group(2) and int(match.group(1)) > int(match.group(2)):
        return [f"integer format {fmt!r} has min > max"]
    return []


def _float_format(fmt: str) -> list[str]:
    return [] if _FLOAT_RANGE.match(fmt) else [f"float format {fmt!r} is not min:max[:step]"]


def _enum_format(fmt: str) -> list[str]:
    values = fmt.split(",")
    errors = []
    if any(v == "" for v in values):
        errors.append(f"enum format {fmt!r} has an empty value")
    if len(set(values)) != len(values):
        errors.append(f"enum format {fmt!r} has duplicates")
    return errors


def _color_format(fmt: str) -> list[str]:
    if any(v not in ("rgb", "hsv", "xyz") for v in fmt.split(",")):
        return [f"color format {fmt!r}"]
    return []


def _boolean_format(fmt: str) -> list[str]:
    if len(fmt.split(",")) != 2:
        return [f"boolean format {fmt!r} is not falseLabel,trueLabel"]
    return []


def _json_format(fmt: str) -> list[str]:
    try:
        schema = json.loads(fmt)
    except ValueError:
        return ["json format is not a JSON document"]
    return [] if isinstance(schema, dict | bool) else ["json format is not a JSON Schema"]


_FORMAT_CHECKS: Mapping[str, Callable[[str], list[str]]] = {
    "integer": _integer_format,
    "float": _float_format,
    "enum": _enum_format,
    "color": _color_format,
    "boolean": _boolean_format,
    "json": _json_format,
}


def format_errors(datatype: str, fmt: str | None) -> list[str]:
    """Problems with one property's ``format`` (empty list: valid)."""
    if fmt is None:
        return ["format required"] if datatype in ("enum", "color") else []
    check = _FORMAT_CHECKS.get(datatype)
    return check(fmt) if check is not None else []


def description_errors(
    description: Mapping[str, Any], device_id: str, root_id: str | None = None
) -> list[str]:
    """Rules of one ``$description`` beyond the JSON Schema (ids, formats, hierarchy)."""
    errors: list[str] = []
    if not is_homie_id(device_id):
        errors.append(f"device id {device_id!r}")
    if root_id is not None and root_id != device_id and description.get("root") != root_id:
        errors.append("child device without the right root")
    if description.get("root") == device_id:
        errors.append("a root device must not name itself as root")
    errors += type_errors(description)
    for node_id, node in description.get("nodes", {}).items():
        if not is_homie_id(node_id):
            errors.append(f"node id {node_id!r}")
        for prop_id, prop in node.get("properties", {}).items():
            if not is_homie_id(prop_id):
                errors.append(f"property id {node_id}/{prop_id!r}")
            for problem in format_errors(prop.get("datatype", ""), prop.get("format")):
                errors.append(f"{node_id}/{prop_id}: {problem}")
    return errors


def value_errors(prop: Mapping[str, Any], payload: bytes) -> list[str]:
    """Whether one published value matches its property's datatype and format."""
    datatype = prop["datatype"]
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return ["not UTF-8"]
    fmt = prop.get("format")
    if datatype == "boolean":
        return [] if text in ("true", "false") else [f"boolean {text!r}"]
    if datatype == "integer":
        if not _INTEGER.match(text):
            return [f"integer {text!r}"]
        return _range_errors(int(text), fmt)
    if datatype == "float":
        if not _FLOAT.match(text):
            return [f"float {text!r}"]
        return _range_errors(float(text), fmt)
    if datatype == "enum":
        return [] if fmt and text in fmt.split(",") else [f"enum value {text!r} not in {fmt!r}"]
    if datatype == "json":
        try:
            value = json.loads(text)
        except ValueError:
            return ["json value does not parse"]
        return [] if isinstance(value, dict | list) else ["json value is not array/object"]
    return []


def _range_errors(value: float, fmt: str | None) -> list[str]:
    if not fmt:
        return []
    parts = fmt.split(":")
    low, high = parts[0], parts[1] if len(parts) > 1 else ""
    if low and value < float(low):
        return [f"{value} below {low}"]
    if high and value > float(high):
        return [f"{value} above {high}"]
    return []


# Homie v5 ``type``: "please ensure proper namespacing"; ours are ``namespace.name``.
_NAMESPACED_TYPE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")


def type_errors(description: Mapping[str, Any]) -> list[str]:
    """The device's and every node's ``type``, when given, must be namespaced."""
    types = [("device", description.get("type"))]
    types += [(f"node {n}", node.get("type")) for n, node in description.get("nodes", {}).items()]
    return [
        f"{where} type {value!r} is not namespaced (namespace.name)"
        for where, value in types
        if value is not None and not _NAMESPACED_TYPE.match(str(value))
    ]


def readiness_errors(
    description: Mapping[str, Any], retained: Callable[[str], bool], topic_of: Callable[[str], str]
) -> list[str]:
    """What a ``ready`` device still owes: a value for every retained property and a
    ``$target`` for every settable retained one (``$target`` is used from the first value on
    or never). ``retained(topic)`` says whether the broker holds a value there."""
    errors: list[str] = []
    for node_id, node in description.get("nodes", {}).items():
        for prop_id, prop in node.get("properties", {}).items():
            if prop.get("retained", True) is False:
                continue
            topic = topic_of(f"{node_id}/{prop_id}")
            if not retained(topic):
                errors.append(f"{node_id}/{prop_id}: no value")
            elif prop.get("settable", False) and not retained(f"{topic}/$target"):
                errors.append(f"{node_id}/{prop_id}: no $target")
    return errors


class StreamChecker:
    """Homie v5 ordering rules over the messages of one broker, in the order received.

    At each ``$state`` = ``ready`` the device owes nothing (:func:`readiness_errors`); when a
    root's ``$description`` lists a child, that child's ``$description`` is already out.
    """

    def __init__(self, prefix: str = "homie") -> None:
        self._base = f"{prefix}/5/"
        self._retained: dict[str, bytes] = {}
        self._descriptions: dict[str, Any] = {}
        self.errors: list[str] = []

    def feed(self, topic: str, payload: bytes) -> None:
        if not topic.startswith(self._base):
            return
        if payload:
            self._retained[topic] = payload
        else:
            self._retained.pop(topic, None)
        device, _, rest = topic[len(self._base) :].partition("/")
        if rest == "$description" and payload:
            self._description(device, json.loads(payload))
        elif rest == "$state" and payload == b"ready":
            self._ready(device)

    def _description(self, device: str, description: Any) -> None:
        self._descriptions[device] = description
        for child in description.get("children", []):
            if child not in self._descriptions:
                self.errors.append(f"{device} lists child {child} before its $description")

    def _ready(self, device: str) -> None:
        description = self._descriptions.get(device)
        if description is None:
            self.errors.append(f"{device}: ready without a $description")
            return
        base = f"{self._base}{device}/"
        for problem in readiness_errors(
            description, lambda t: t in self._retained, lambda p: base + p
        ):
            self.errors.append(f"{device} ready while {problem}")
