"""Outputs (relays): on/off, read in bulk (protocol §13.4)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from e27bridge.panel.kinds.base import (
    BulkStatus,
    Found,
    KindSpec,
    StatusReader,
    Write,
    per_id,
    switched,
)
from e27bridge.protocol import models, requests


@dataclass(frozen=True, slots=True)
class Output:
    id: int
    name: str
    on: bool | None = None


def merge(old: Output, status: models.OnOffStatus) -> Output:
    return old if status.on is None else replace(old, on=status.on)


def merge_bulk(old: Output, on: bool) -> Output:
    return replace(old, on=on)


def _bulk(body: dict[str, Any]) -> dict[int, bool]:
    return models.decode_output_bulk(body.get("status"))


def describe(old: Output, new: Output) -> str | None:
    return switched(old.on, new.on, "on", "off")


@dataclass(frozen=True, slots=True)
class SetOutput:
    output_id: int
    on: bool


def switch(command: SetOutput) -> Write:
    return Write(requests.set_output(command.output_id, command.on), command.output_id)


def build(attribs: models.Attribs, found: Found) -> Output:
    return Output(attribs.entity_id, attribs.name)


SPEC = KindSpec(
    label="outputs",
    build=build,
    status=StatusReader(per_id("output", models.parse_output_status), merge),
    bulk=BulkStatus(
        "get_all_outputs_status", requests.all_outputs_status, StatusReader(_bulk, merge_bulk)
    ),
    required=True,
    describe=describe,
    commands={SetOutput: switch},
)
