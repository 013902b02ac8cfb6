"""Idempotency keys: a retried request gets the first one's response instead of acting twice.

An organisation sends ``Idempotency-Key: <up to 200 chars>`` with a request. The first request
with that key claims it atomically (``SET … NX EX``) with an in-progress marker, does its work,
then stores its response under the key for :data:`TTL_SECONDS`. Every later request with the key:

- same fingerprint (method, path and SHA-256 of the raw body) and a stored response: gets that
  response again, same status and JSON;
- same fingerprint while the first is still running: waits (polling) up to ``wait_seconds`` for
  the response, then replays it, or is told 409 ``idempotency_in_progress``;
- a different fingerprint: 422 ``idempotency_key_reused``.

When the first request fails, its marker is removed so that the request can be retried. Keys are
scoped per organisation and stored by their SHA-256, never as sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio
from redis.exceptions import WatchError

from core.errors import IdempotencyInProgress, IdempotencyKeyReused, InvalidRequest
from core.redis.keys import Keys

__all__ = [
    "MAX_KEY_CHARS",
    "TTL_SECONDS",
    "Claim",
    "Idempotency",
    "StoredResponse",
    "fingerprint",
]

MAX_KEY_CHARS = 200
TTL_SECONDS = 24 * 3600


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the SHA-256 of the raw body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode()):
        digest.update(len(part).to_bytes(4, "big") + part)
    digest.update(hashlib.sha256(body).digest())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """This request owns the key: it must ``complete`` or ``abandon`` it."""

    redis_key: str
    fingerprint: str
    token: str
    project: str = ""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


class Idempotency:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        *,
        wait_seconds: float = 5.0,
        poll_seconds: float = 0.05,
    ) -> None:
        self.client = client
        self.keys = keys
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    def redis_key(self, org_id: str, key: str) -> str:
        if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isprintable():
            raise InvalidRequest(
                f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable characters",
                [{"loc": ["header", "Idempotency-Key"], "msg": "invalid", "type": "value_error"}],
            )
        return self.keys.idempotency(org_id, hashlib.sha256(key.encode()).hexdigest())

    async def begin(
        self, org_id: str, key: str, request_fingerprint: str, *, project_id: str = ""
    ) -> Claim | StoredResponse:
        """Claim the key, or get the response stored under it (waiting while it is made).
        ``project_id``: the project the request is about, kept in the record so that deleting
        the project deletes the record too (core.privacy.projects)."""
        redis_key = self.redis_key(org_id, key)
        token = secrets.token_hex(16)
        marker = json.dumps(
            {"state": "pending", "fp": request_fingerprint, "token": token, "project": project_id}
        )
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if await self.client.set(redis_key, marker, nx=True, ex=TTL_SECONDS):
                return Claim(redis_key, request_fingerprint, token, project_id)
            raw = await self.client.get(redis_key)
            if raw is not None:
                record = json.loads(raw)
                if record["fp"] != request_fingerprint:
                    raise IdempotencyKeyReused(
                        "this Idempotency-Key was used for a different request; "
                        "use a new key for a new request"
                    )
                if record["state"] == "done":
                    return StoredResponse(int(record["status"]), dict(record["body"]))
                if time.monotonic() >= deadline:
                    raise IdempotencyInProgress(
                        "a request with this Idempotency-Key is still being processed; "
                        "retry shortly to get its response"
                    )
                await asyncio.sleep(self.poll_seconds)
            # raw is None: the first request failed and let the key go; try to claim it.

    async def complete(self, claim: Claim, status: int, body: dict[str, Any]) -> None:
        record = {
            "state": "done",
            "fp": claim.fingerprint,
            "status": status,
            "body": body,
            "project": claim.project,
        }
        await self.client.set(claim.redis_key, json.dumps(record), ex=TTL_SECONDS)

    async def abandon(self, claim: Claim) -> None:
        """Let the key go (the request failed), unless someone else holds it by now."""
        async with self.client.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(claim.redis_key)
                raw = await pipe.get(claim.redis_key)
                if raw is not None and json.loads(raw).get("token") == claim.token:
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.delete(claim.redis_key)
                    await pipe.execute()
            except WatchError:
                pass  # changed under us: no longer ours to delete
            # leaving the block resets the pipeline, which unwatches
