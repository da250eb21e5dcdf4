"""Arm with automatic bypass (ADR-0012): bypass the area's open zones, arm, and when the
panel refuses to arm, restore exactly the bypasses made here. One unit on the queue: no
other request is sent between its steps, each step still one request in flight.

Life-safety zones are never bypassed (``zone_bypassable``); zones already bypassed are left
alone, so a rollback never undoes a bypass somebody else made.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace

import structlog

from e27bridge.panel.commands import ArmArea, BypassZone, CommandResult, Outcome
from e27bridge.panel.kinds.zone import UNDEFINED, zone_bypassable
from e27bridge.panel.planning import Plan, plan_command
from e27bridge.panel.queue import QueueResult
from e27bridge.panel.state import PanelSnapshot

log = structlog.get_logger(__name__)

Write = Callable[[Plan, object], Awaitable[QueueResult]]
Exclusive = Callable[[], contextlib.AbstractAsyncContextManager[object]]
KEPT = (Outcome.OK, Outcome.UNKNOWN)  # the area may be arming: its bypasses stay


def open_zones(snapshot: PanelSnapshot, area_id: int) -> list[int]:
    """The area's open zones the bridge may bypass, not bypassed yet."""
    return sorted(
        z.id
        for z in snapshot.zones.values()
        if z.area_id == area_id
        and z.violated
        and not z.bypassed
        and z.definition != UNDEFINED  # a placeholder, not a zone
        and zone_bypassable(z.definition)
    )


async def arm_bypassing(
    snapshot: PanelSnapshot, command: ArmArea, write: Write, exclusive: Exclusive
) -> CommandResult:
    made: list[int] = []
    refused: list[int] = []
    async with exclusive() as hold:

        async def bypass(zone_id: int, on: bool) -> QueueResult:
            return await write(plan_command(snapshot, BypassZone(zone_id, on, command.code)), hold)

        for zone_id in open_zones(snapshot, command.area_id):
            result = await bypass(zone_id, True)
            if result.ok:
                made.append(zone_id)
            elif result.outcome is Outcome.REJECTED:
                refused.append(zone_id)  # the arm decides whether that matters
            else:  # no answer, expired, gone: never arm on a state we do not know
                return await _undo(result, made, refused, bypass)
        armed = await write(plan_command(snapshot, replace(command, bypass_open=False)), hold)
        if armed.outcome in KEPT:
            data = {"bypassed": made, "refused": refused}
            log.info("arm_bypass_done", area=command.area_id, status=armed.outcome.value, **data)
            return CommandResult(armed.outcome, armed.code, armed.reason, data=data)
        return await _undo(armed, made, refused, bypass)


async def _undo(
    failed: QueueResult,
    made: list[int],
    refused: list[int],
    bypass: Callable[[int, bool], Awaitable[QueueResult]],
) -> CommandResult:
    restored: list[int] = []
    kept: list[int] = []
    for zone_id in made:
        (restored if (await bypass(zone_id, False)).ok else kept).append(zone_id)
    data = {"bypassed": kept, "restored": restored, "refused": refused}
    log.info("arm_bypass_undone", status=failed.outcome.value, **data)
    return CommandResult(failed.outcome, failed.code, failed.reason, data=data)
