"""A bulk submission as an organisation makes it: counted against its bulk rate, bounded by its
storage quota, written in its turn, in the process's bulk lanes.

The API's bulk route (``POST /v1/projects/{id}/tasks``) and the console's file upload
(:mod:`web.ngo.data`) both write through :func:`write_batch`, so a file uploaded in the browser
meets exactly the limits a program's batch meets (:mod:`core.accounts.quotas`,
:mod:`core.ratelimit`): too many items for the rate is 422 ``batch_too_large``, past the rate
429, a full quota 507 ``quota_exceeded`` (items past a quota that fills midway are rejected one
by one, ``quota_exceeded``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from core.accounts.quotas import OrgLimits, Quotas
from core.board.bulk import BulkOutcome, Room, submit_batch
from core.board.runner import AsyncBoard
from core.errors import BatchTooLarge, QuotaExceeded
from core.ratelimit import RateLimited, RateLimits
from task_types.base import AnyTaskType

__all__ = ["refuse_past_rate", "write_batch"]


async def refuse_past_rate(quotas: Quotas, limits: RateLimits, org_id: str) -> OrgLimits:
    """429 at once when the organisation's ``bulk_tasks`` window has no room for one more item,
    before its body is read: a flood past its rate then costs a lookup per request, not the
    parsing of every batch it sends (the event loop the claims share). Nothing is counted.
    Returns the organisation's limits, for :func:`write_batch` (read once)."""
    own = await quotas.limits(org_id)
    refusal = await limits.peek("bulk_tasks", org_id, rate=own.bulk_rate)
    if refusal is not None:
        raise RateLimited(refusal)
    return own


async def write_batch(
    *,
    board: AsyncBoard,
    quotas: Quotas,
    limits: RateLimits,
    lanes: asyncio.Semaphore,
    org_id: str,
    project_id: str,
    task_type: AnyTaskType,
    items: Sequence[Any] | Callable[[], Awaitable[Sequence[Any]]],
    chunk: int,
    own: OrgLimits | None = None,
    wait_turn: Callable[[], Awaitable[None]] | None = None,
) -> BulkOutcome:
    """Checks the organisation's rate and quota, then writes ``items`` (see the module).

    ``items``: the items, or what reads them (a request body's reader,
    ``core.board.bulk_reading``), awaited once the batch has its lane: a process then holds
    one parsed batch per lane, not one per request waiting (memory, and the collector's full
    passes, which walk every object alive).
    ``own``: the organisation's limits when already read (:func:`refuse_past_rate`).
    ``wait_turn``: awaited before the parsing and before each step, so that people's requests
    go first (``api.interactive.PeopleFirst.wait_turn``)."""
    own = own or await quotas.limits(org_id)
    async with lanes:
        if wait_turn is not None:
            await wait_turn()
        batch = await items() if callable(items) else items
        await _count_against_rate(limits, org_id, own, len(batch))
        async with quotas.bulk_turn(org_id) as turn:

            async def between() -> None:
                await turn.renew()
                if wait_turn is not None:
                    await wait_turn()

            return await submit_batch(
                board,
                project_id,
                task_type,
                batch,
                chunk=chunk,
                room=await _room(quotas, org_id, own),
                between=between,
            )


async def _count_against_rate(limits: RateLimits, org_id: str, own: OrgLimits, count: int) -> None:
    """Each item of the batch counts against the organisation's ``bulk_tasks`` rate (429)."""
    rate = own.bulk_rate
    if count > rate.amount:
        raise BatchTooLarge(
            f"your organisation may send at most {rate.amount} tasks per {rate.get_expiry()} s; "
            "split the batch",
            [{"max_items": rate.amount, "items": count}],
        )
    if count:
        await limits.enforce("bulk_tasks", org_id, cost=count, rate=rate)


async def _room(quotas: Quotas, org_id: str, own: OrgLimits) -> Room | None:
    """What the organisation's storage quota leaves (507 when nothing); None: no quota."""
    if not own.quota_tasks and not own.quota_payload_bytes:
        return None
    held = await quotas.usage(org_id)
    room = Room(
        tasks=own.quota_tasks - held.tasks if own.quota_tasks else None,
        payload_bytes=(
            own.quota_payload_bytes - held.payload_bytes if own.quota_payload_bytes else None
        ),
    )
    if (room.tasks is not None and room.tasks <= 0) or (
        room.payload_bytes is not None and room.payload_bytes <= 0
    ):
        raise QuotaExceeded(
            "your organisation's storage quota is full: no task was created (delete tasks, or "
            "ask the operator for a larger quota)",
            [
                {
                    "quota_tasks": own.quota_tasks,
                    "tasks_held": held.tasks,
                    "quota_payload_bytes": own.quota_payload_bytes,
                    "payload_bytes_held": held.payload_bytes,
                }
            ],
        )
    return room
