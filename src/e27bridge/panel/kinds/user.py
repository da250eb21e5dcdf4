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


# ``user.get_attribs`` needs an authenticated session (protocol §20 item 7): without one a
# real panel answers 11008 for every user, up to 203 wasted requests at bootstrap. Only
# the ids are read; names default to "User N".
SPEC = KindSpec(label="users", build=build, table=False, attribs=False)
