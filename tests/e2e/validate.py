"""Checks of a real captured retained tree: our strict JSON Schemas, the Homie v5 rules, and
the links between the two (every HA topic points at a Homie property that exists)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema

from e27bridge.mqtt.homie_rules import description_errors, readiness_errors, value_errors
from e27bridge.mqtt.topics import is_homie_id
from mqtt.schemas import hass_errors, homie_schema_errors

HOMIE_STATES = {b"init", b"ready", b"disconnected", b"sleeping", b"lost"}
_UNIQUE_ID = re.compile(r"^e27_[0-9a-f]{12}_[a-z]+_[0-9]+(_[a-z0-9_]+)?$")
# Discovery keys that name topics (abbreviated forms are not used by the bridge).
_TOPIC_KEY = re.compile(r"_topic$")


def descriptions(tree: Mapping[str, bytes], prefix: str = "homie/5") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for topic, payload in tree.items():
        parts = topic.split("/")
        if topic.startswith(prefix + "/") and len(parts) == 4 and parts[3] == "$description":
            out[parts[2]] = json.loads(payload)
    return out


def homie_errors(tree: Mapping[str, bytes], root: str) -> list[str]:
    """Every Homie device in ``tree``: schema, ids, formats, values, and no stray topics."""
    errors: list[str] = []
    devices = descriptions(tree)
    if root not in devices:
        return [f"root device {root} has no $description"]
    children = devices[root].get("children", [])
    if sorted(children) != sorted(d for d in devices if d != root):
        errors.append(f"root children {children} != devices {sorted(devices)}")
    for device, desc in devices.items():
        errors += [f"{device} schema: {e}" for e in homie_schema_errors(desc)]
        errors += [f"{device}: {e}" for e in description_errors(desc, device, root)]
        if device != root and desc.get("parent") != root:
            errors.append(f"{device}: parent {desc.get('parent')!r}")
        state = tree.get(f"homie/5/{device}/$state")
        if state not in HOMIE_STATES:
            errors.append(f"{device}: $state {state!r}")
        if state == b"ready":
            base = f"homie/5/{device}/"
            owed = readiness_errors(desc, lambda t: t in tree, lambda p, b=base: b + p)
            errors += [f"{device} is ready while {e}" for e in owed]
    for topic, payload in tree.items():
        parts = topic.split("/")
        if parts[:2] != ["homie", "5"]:
            continue
        device = parts[2]
        if device not in devices:
            errors.append(f"{topic}: device without $description")
            continue
        rest = parts[3:]
        if rest in (["$state"], ["$description"]):
            continue
        if len(rest) == 2 and rest[0] == "$alert":
            if not is_homie_id(rest[1]) or not payload:
                errors.append(f"{topic}: bad alert")
            continue
        errors += _property_errors(topic, payload, devices[device], rest)
    return errors


def _property_errors(topic: str, payload: bytes, desc: Any, rest: list[str]) -> list[str]:
    if len(rest) not in (2, 3) or (len(rest) == 3 and rest[2] != "$target"):
        return [f"{topic}: not a property topic"]
    node = desc["nodes"].get(rest[0])
    prop = None if node is None else node["properties"].get(rest[1])
    if prop is None:
        return [f"{topic}: property not in $description"]
    if prop.get("retained", True) is False:
        return [f"{topic}: retained value of a non-retained property"]
    if len(rest) == 3 and not prop.get("settable", False):
        return [f"{topic}: $target on a property that is not settable"]
    if payload == b"\x00":  # Homie v5: an empty string
        return [] if prop["datatype"] == "string" else [f"{topic}: empty value"]
    errors = [f"{topic}: {e}" for e in value_errors(prop, payload)]
    if not errors and prop["datatype"] == "json" and prop.get("format"):
        schema = json.loads(prop["format"])
        problem = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(schema).iter_errors(json.loads(payload))
        )
        if problem is not None:
            errors.append(f"{topic}: {problem.message}")
    return errors


def hass_config_errors(
    tree: Mapping[str, bytes], panel_id: str, mac12: str, secrets: tuple[str, ...]
) -> list[str]:
    """One HA device discovery payload: strict schema, and every topic it names is real."""
    topic = f"homeassistant/device/{panel_id}/config"
    if topic not in tree:
        return [f"{topic} missing"]
    text = tree[topic].decode()
    config = json.loads(text)
    errors = [f"schema: {e}" for e in hass_errors(config)]
    errors += [f"secret {s[:2]}... in discovery" for s in secrets if s in text]
    devices = descriptions(tree)
    unique_ids: list[str] = []
    for key, component in config["components"].items():
        if set(component) == {"platform"}:  # a removal marker
            continue
        uid = component.get("unique_id", "")
        unique_ids.append(uid)
        if not _UNIQUE_ID.match(uid) or f"_{mac12}_" not in uid:
            errors.append(f"{key}: unique_id {uid!r}")
        for field, value in component.items():
            if _TOPIC_KEY.search(field):
                errors += [f"{key}.{field}: {e}" for e in _topic_errors(devices, value, field)]
        for entry in component.get("availability", []):
            if entry["topic"] not in tree:
                errors.append(f"{key}: availability topic {entry['topic']} not published")
    if len(set(unique_ids)) != len(unique_ids):
        errors.append("duplicate unique_id")
    for entry in config.get("availability", []):
        if entry["topic"] not in tree:
            errors.append(f"availability topic {entry['topic']} not published")
    return errors


def _topic_errors(devices: Mapping[str, Any], topic: str, field: str) -> list[str]:
    parts = topic.split("/")
    if parts[:2] != ["homie", "5"]:
        return []  # the event stream and other bridge topics
    command = field.endswith("command_topic")
    if command:
        if parts[-1] != "set":
            return [f"{topic} is not a /set topic"]
        parts = parts[:-1]
    if len(parts) != 5 or parts[2] not in devices:
        return [f"{topic} is not a Homie property"]
    prop = devices[parts[2]]["nodes"].get(parts[3], {}).get("properties", {}).get(parts[4])
    if prop is None:
        return [f"{topic}: no such Homie property"]
    if command and not prop.get("settable"):
        return [f"{topic}: Homie property not settable"]
    return []
