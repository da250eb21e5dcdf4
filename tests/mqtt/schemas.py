"""Strict validators for what the bridge publishes (our JSON Schemas + Homie rules)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema


@cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    text = resources.files("e27bridge.mqtt").joinpath("schemas", name).read_text()
    schema = json.loads(text)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)  # type: ignore[no-any-return]


def hass_errors(config: Any) -> list[str]:
    validator = _validator("hass-device-discovery.schema.json")
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(config)]


def homie_schema_errors(description: Any) -> list[str]:
    validator = _validator("homie5-description.schema.json")
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(description)]


def hass_component_errors(platform: str, config: Any) -> list[str]:
    """One per-component discovery payload: the platform's definition of the same strict
    schema (with its ``platform`` from the topic) plus the device and origin definitions."""
    validator = _validator("hass-device-discovery.schema.json")
    if not isinstance(config, dict):
        return ["not an object"]
    errors = [f"{key} missing" for key in ("device", "origin") if key not in config]
    component = {k: v for k, v in config.items() if k not in ("device", "origin")}
    parts: list[tuple[Any, Any]] = [
        ({"$ref": f"#/$defs/{platform}"}, {**component, "platform": platform}),
        (validator.schema["properties"]["device"], config.get("device", {})),
        (validator.schema["properties"]["origin"], config.get("origin", {})),
    ]
    for schema, value in parts:
        check = validator.evolve(schema={**schema, "$defs": validator.schema["$defs"]})
        errors += [f"{list(e.absolute_path)}: {e.message}" for e in check.iter_errors(value)]
    return errors


def event_errors(event: Any) -> list[str]:
    """What is wrong with one ``<base>/<panel>/event`` payload (events.schema.json)."""
    validator = _validator("events.schema.json")
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(event)]
