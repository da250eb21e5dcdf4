"""Users: names only, for "armed by user N" (protocol §13.10); never published as nodes."""

from __future__ import annotations

from dataclasses import dataclass

from e27bridge.panel.kinds.base import Found, KindSpec
from e27bridge.protocol import models


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str


def build(attribs: models.Attribs, found: Found) -> User:
    return User(attribs.entity_id, attribs.name)


SPEC = KindSpec(label="users", build=build, table=False)
