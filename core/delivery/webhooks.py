"""An organisation's webhook endpoint and the record of deliveries made to it.

The endpoint (``G:org:<org-id>:webhook``) holds the URL and the signing secret. The secret is
``whsec_`` + base64 of 32 random bytes (Standard Webhooks); it is shown once, when the endpoint
is set, and stored because every delivery is signed with it, but never returned again.

Deliveries are written by the delivery worker, one JSON record per delivery id in
``G:org:<org-id>:deliveries`` (listed newest first through ``G:org:<org-id>:delivery_log``).
Asking for a redelivery puts the delivery back in the global due set ``G:webhook:due``
(member ``<org-id>|<delivery-id>``, score: when to try, ms), which the worker polls.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import redis.asyncio

from core.board.operations import dumps, text
from core.errors import DeliveryNotFound
from core.redis.keys import Keys

__all__ = [
    "DELIVERY_STATUSES",
    "SECRET_PREFIX",
    "Delivery",
    "Webhooks",
    "new_secret",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32
DELIVERY_STATUSES = ("pending", "delivered", "failed", "disabled")


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Delivery:
    """One result delivered (or being delivered) to an organisation's endpoint."""

    delivery_id: str
    project_id: str
    task_id: str
    result_id: str  # the result's cursor in its project's feed
    status: str  # pending | delivered | failed | disabled (the endpoint answered 410)
    attempts: int
    last_error: str | None
    next_attempt_at_ms: int | None
    created_at_ms: int

    @classmethod
    def from_json(cls, raw: str | bytes) -> Delivery:
        record: dict[str, Any] = json.loads(raw)
        next_attempt = record.get("next_attempt_at_ms")
        return cls(
            delivery_id=str(record["delivery_id"]),
            project_id=str(record.get("project_id", "")),
            task_id=str(record.get("task_id", "")),
            result_id=str(record.get("result_id", "")),
            status=str(record.get("status", "pending")),
            attempts=int(record.get("attempts", 0)),
            last_error=record.get("last_error"),
            next_attempt_at_ms=None if next_attempt is None else int(next_attempt),
            created_at_ms=int(record.get("created_at_ms", 0)),
        )

    def to_json(self) -> str:
        return dumps(asdict(self))


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    secret: str
    created_at_ms: int


class Webhooks:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    # -- endpoint ----------------------------------------------------------------------------

    async def set_endpoint(self, org_id: str, url: str) -> str:
        """Store the (already checked) URL with a new secret; returns the secret, once."""
        secret = new_secret()
        await self.client.hset(
            self.keys.org_webhook(org_id),
            mapping={"url": url, "secret": secret, "created": _now_ms()},
        )
        return secret

    async def endpoint(self, org_id: str) -> Endpoint | None:
        raw = await self.client.hgetall(self.keys.org_webhook(org_id))
        if not raw:
            return None
        fields = {text(k): text(v) for k, v in raw.items()}
        return Endpoint(fields["url"], fields["secret"], int(fields.get("created", 0)))

    async def remove_endpoint(self, org_id: str) -> None:
        await self.client.delete(self.keys.org_webhook(org_id))

    # -- deliveries --------------------------------------------------------------------------

    async def save_delivery(self, org_id: str, delivery: Delivery) -> None:
        """Write a delivery record (the delivery worker's side)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.org_deliveries(org_id), delivery.delivery_id, delivery.to_json())
        pipe.zadd(
            self.keys.org_delivery_log(org_id), {delivery.delivery_id: delivery.created_at_ms}
        )
        await pipe.execute()

    async def deliveries(self, org_id: str, limit: int = 50) -> list[Delivery]:
        """The most recent deliveries, newest first."""
        newest = await self.client.zrevrange(self.keys.org_delivery_log(org_id), 0, limit - 1)
        if not newest:
            return []
        delivery_ids = [text(member) for member in newest]
        raw = await self.client.hmget(self.keys.org_deliveries(org_id), delivery_ids)
        return [Delivery.from_json(r) for r in raw if r is not None]

    async def redeliver(self, org_id: str, delivery_id: str) -> Delivery:
        """Mark a known delivery pending again and due now; unknown -> delivery_not_found."""
        raw = await self.client.hget(self.keys.org_deliveries(org_id), delivery_id)
        if raw is None:
            raise DeliveryNotFound("no such delivery")
        now = _now_ms()
        delivery = replace(Delivery.from_json(raw), status="pending", next_attempt_at_ms=now)
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.keys.org_deliveries(org_id), delivery_id, delivery.to_json())
        pipe.zadd(self.keys.webhook_due, {f"{org_id}|{delivery_id}": now})
        await pipe.execute()
        return delivery
