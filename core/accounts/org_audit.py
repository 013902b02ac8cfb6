"""Changes to an organisation made in the console that belong to no project (its webhook, its
API keys, its volunteer invitations): one entry each in the organisation's audit stream
``G:org:<org-id>:audit``, next to the staff changes of :mod:`core.accounts.staff` (who made it,
with which role, when, and what: never a secret, a token or an invitation code)."""

from __future__ import annotations

import redis.asyncio

from core.accounts.staff import AUDIT_MAXLEN
from core.redis.keys import Keys

__all__ = ["record_org_change"]


async def record_org_change(
    client: redis.asyncio.Redis,
    keys: Keys,
    org_id: str,
    kind: str,
    *,
    by: str,
    role: str,
    at_ms: int,
    **details: str,
) -> None:
    fields: dict[str, str | int] = {"type": kind, "by": by, "role": role, "at": at_ms, **details}
    await client.xadd(
        keys.org_audit(org_id),
        fields,  # type: ignore[arg-type]
        maxlen=AUDIT_MAXLEN,
        approximate=True,
    )
