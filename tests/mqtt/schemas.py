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
