"""Keypads: only their name and area; no status is read (protocol §13.9)."""

from __future__ import annotations

from dataclasses import dataclass

from e27bridge.panel.kinds.base import Found, KindSpec
from e27bridge.protocol import models


@dataclass(frozen=True, slots=True)
class Keypad:
    id: int
    name: str
    area_id: int | None = None


def build(attribs: models.Attribs, found: Found) -> Keypad:
    return Keypad(attribs.entity_id, attribs.name, attribs.area_id)


SPEC = KindSpec(label="keypads", build=build)
