"""Who changed a project from the console: an ``audit`` event in the project's event stream.

The project's stream (``P:events``) is its outbox and its audit log (:mod:`core.events.relay`):
the board scripts already append what happened (``project.updated`` names the fields changed,
``tasks.created`` the tasks…), but not who asked, since the API's caller is an organisation's
key. A change made by a person in the console adds one ``audit`` event next to it::

    type audit, action <what was done>, by <volunteer id>, role <their role>, at <ms>, …details

``action`` is a short dotted name (``project.created``, ``project.edited``, ``project.paused``…);
the details are short strings (the names of the fields edited, never their values, as
``project.updated`` does). No worker routes ``audit`` events: they are kept, never acted upon,
and trimmed with the stream's other events (``RUCHE_EVENT_RETENTION_DAYS``).
"""

from __future__ import annotations

import time

import redis.asyncio

from core.redis.keys import Keys

__all__ = ["MAX_DETAIL_CHARS", "record_change"]

MAX_DETAIL_CHARS = 500


async def record_change(
    client: redis.asyncio.Redis,
    keys: Keys,
    project_id: str,
    action: str,
    *,
    by: str,
    role: str,
    at_ms: int | None = None,
    **details: str,
) -> str:
    """Appends the audit event; returns its stream id."""
    fields: dict[str, str] = {
        "type": "audit",
        "action": action,
        "by": by,
        "role": role,
        "at": str(at_ms if at_ms is not None else time.time_ns() // 1_000_000),
    }
    for name, value in details.items():
        fields[name] = str(value)[:MAX_DETAIL_CHARS]
    entry = await client.xadd(keys.project(project_id).events, fields)  # type: ignore[arg-type]
    return str(entry)
