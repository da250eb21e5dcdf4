"""How one user command is carried out: plan it, queue it, authenticate and resend once when
the code needs a privileged session, and re-read the entity afterwards unless the panel
reported its new state by itself (``confirm``, ADR-0010). A refresh is carried out the same
way: its reads go through the queue and the replies fold into the state like any other.
"""

from __future__ import annotations

import asyncio
from functools import partial

from e27bridge.panel.arm_bypass import arm_bypassing
from e27bridge.panel.commands import ArmArea, Command, CommandResult, Outcome, Refresh
from e27bridge.panel.confirm import CONFIRM_WINDOW, Confirmations, Watch
from e27bridge.panel.planning import Plan, plan_command, refresh_plan
from e27bridge.panel.queue import Priority, QueueResult, RequestQueue
from e27bridge.panel.state import ConnectionState, PanelSnapshot
from e27bridge.protocol import requests
from e27bridge.protocol.errors import PanelErrorCode

UNAVAILABLE_STATES = (ConnectionState.LINK_REQUIRED, ConnectionState.STOPPED)


async def execute(
    queue: RequestQueue,
    snapshot: PanelSnapshot,
    command: Command,
    *,
    max_age: float | None,
    confirmations: Confirmations | None = None,
) -> CommandResult:
    if isinstance(command, Refresh):
        return await refresh(queue, snapshot, command, max_age=max_age)
    try:
        plan = plan_command(snapshot, command)
    except (KeyError, ValueError) as exc:
        return CommandResult(Outcome.INVALID, reason=str(exc).strip("'\""))
    if snapshot.connection in UNAVAILABLE_STATES:
        return CommandResult(Outcome.UNAVAILABLE, reason=snapshot.connection.value)
    if isinstance(command, ArmArea) and command.bypass_open:
        return await _arm_bypassing(queue, snapshot, command, plan, max_age)
    watch = confirmations.watch(plan.kind, plan.entity_id) if confirmations else None
    result = await write(queue, plan, max_age=max_age)
    if result.outcome is Outcome.OK and confirmations and watch and result.sent_at is not None:
        _confirm_or_reread(queue, confirmations, watch, result.sent_at, plan.reread)
    else:
        if confirmations and watch:
            confirmations.done(watch)
        if result.outcome in (Outcome.OK, Outcome.UNKNOWN):
            queue.enqueue(plan.reread, Priority.BACKGROUND)  # the re-read brings the state
    return CommandResult(result.outcome, result.code, result.reason)


async def _arm_bypassing(
    queue: RequestQueue,
    snapshot: PanelSnapshot,
    command: ArmArea,
    plan: Plan,
    max_age: float | None,
) -> CommandResult:
    """The composite arm (ADR-0012), then a re-read of the area and every zone it touched
    (the panel's broadcasts have usually said it already)."""
    done = await arm_bypassing(
        snapshot, command, partial(write, queue, max_age=max_age), queue.exclusive
    )
    touched = {z for zones in (done.data or {}).values() for z in zones}
    for spec in (plan.reread, *(requests.get_status("zone", z) for z in sorted(touched))):
        queue.enqueue(spec, Priority.BACKGROUND)
    return done


async def write(
    queue: RequestQueue, plan: Plan, hold: object | None = None, *, max_age: float | None
) -> QueueResult:
    """Send one planned write; when the code needs a privileged session, authenticate
    through the same queue and resend once with the same reply timeout (a bypass ack may
    take 15 s). ``hold``: the exclusive unit it belongs to."""

    async def send() -> QueueResult:
        return await queue.submit(
            plan.spec,
            plan.priority,
            max_age=max_age,
            reply_timeout=plan.reply_timeout,
            hold=hold,
        )

    result = await send()
    if result.code == PanelErrorCode.NOAUTH and plan.code is not None:
        auth = await queue.submit(requests.authenticate(plan.code), Priority.HIGH, hold=hold)
        if auth.ok:
            result = await send()
    return result


def _confirm_or_reread(
    queue: RequestQueue,
    confirmations: Confirmations,
    watch: Watch,
    sent_at: float,
    reread: requests.RequestSpec,
) -> None:
    """The ack (or a broadcast after the write) carried the state: done. Otherwise give
    the broadcast ``CONFIRM_WINDOW`` to come, then read back."""

    def check() -> None:
        confirmations.done(watch)
        if not confirmations.confirmed(watch, sent_at):
            queue.enqueue(reread, Priority.BACKGROUND)

    if confirmations.confirmed(watch, sent_at):
        confirmations.done(watch)
    else:
        asyncio.get_running_loop().call_later(CONFIRM_WINDOW, check)


async def refresh(
    queue: RequestQueue, snapshot: PanelSnapshot, command: Refresh, *, max_age: float | None
) -> CommandResult:
    """Re-read what ``command`` names; ``data`` says how many reads it took. Only while the
    panel is ready: its replies fold into the state only then."""
    try:
        reads = refresh_plan(snapshot, command.kind, command.entity_id)
    except (KeyError, ValueError) as exc:
        return CommandResult(Outcome.INVALID, reason=str(exc).strip("'\""))
    if snapshot.connection is not ConnectionState.READY:
        return CommandResult(Outcome.UNAVAILABLE, reason=snapshot.connection.value)
    futures = [queue.enqueue(read, Priority.NORMAL, max_age=max_age) for read in reads]
    results = await asyncio.gather(*(asyncio.shield(f) for f in futures))
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        return CommandResult(failed.outcome, failed.code, failed.reason)
    return CommandResult(Outcome.OK, data={"reads": len(reads)})
