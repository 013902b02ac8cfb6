"""People's sessions on the pages: a random token in a cookie, its SHA-256 in Redis.

``G:web:session:<sha256>`` (hash: who, when; expires after :data:`SESSION_TTL_SECONDS`) and
``G:vol:<volunteer-id>:sessions`` (set of that person's session hashes, for "sign out
everywhere"). Only hashes are stored, as for API tokens: a copy of Redis signs nobody in. A new
session is made at every sign-in (the token is rotated: a token planted before sign-in is worth
nothing after it), and the old one, if any, is ended.

The session records the volunteer id only; the profile is read as the API reads it
(``core.accounts``), so a page and an API token of the same person see the same record.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import redis.asyncio

from core.redis.keys import Keys

__all__ = ["SESSION_TTL_SECONDS", "Session", "Sessions", "session_key_hash"]

#: A session lasts 30 days from its last use; a phone keeps its person signed in.
SESSION_TTL_SECONDS = 30 * 24 * 3600
_TOKEN_BYTES = 32


def session_key_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    volunteer_id: str
    created_ms: int


class Sessions:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    def _key(self, digest: str) -> str:
        return self.keys.web_session(digest)

    def _person_key(self, volunteer_id: str) -> str:
        return self.keys.volunteer_sessions(volunteer_id)

    async def start(self, volunteer_id: str, replacing: str | None = None) -> Session:
        """A new session for ``volunteer_id``; the session token ``replacing`` ends."""
        if replacing:
            await self.end(replacing)
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        digest = session_key_hash(token)
        now_ms = time.time_ns() // 1_000_000
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self._key(digest), mapping={"vol": volunteer_id, "created": now_ms})
            pipe.expire(self._key(digest), SESSION_TTL_SECONDS)
            pipe.sadd(self._person_key(volunteer_id), digest)
            pipe.expire(self._person_key(volunteer_id), SESSION_TTL_SECONDS)
            await pipe.execute()
        return Session(token, volunteer_id, now_ms)

    async def find(self, token: str) -> Session | None:
        if not token or len(token) > 100:
            return None
        digest = session_key_hash(token)
        record = await self.client.hgetall(self._key(digest))
        if not record or "vol" not in record:
            return None
        await self.client.expire(self._key(digest), SESSION_TTL_SECONDS)
        return Session(token, str(record["vol"]), int(record.get("created", 0)))

    async def put_once(self, token: str, name: str, value: str) -> None:
        """Keeps ``value`` in the session until :meth:`take_once` reads it (a recovery code to
        show once, after a redirect: a reload must not show it again, nor make a new one)."""
        key = self.keys.web_session(session_key_hash(token))
        await self.client.hset(key, f"once:{name}", value)

    async def take_once(self, token: str, name: str) -> str | None:
        key, field = self.keys.web_session(session_key_hash(token)), f"once:{name}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hget(key, field)
            pipe.hdel(key, field)
            value, _ = await pipe.execute()
        return None if value is None else str(value)

    async def end(self, token: str) -> None:
        digest = session_key_hash(token)
        volunteer_id = await self.client.hget(self._key(digest), "vol")
        await self.client.delete(self._key(digest))
        if volunteer_id:
            await self.client.srem(self._person_key(str(volunteer_id)), digest)

    async def end_all(self, volunteer_id: str) -> int:
        """Every session of ``volunteer_id`` ends (sign out everywhere); how many there were."""
        person_key = self._person_key(volunteer_id)
        digests = [str(d) for d in await self.client.smembers(person_key)]
        # One DEL per key: on a cluster the sessions sit in different slots.
        async with self.client.pipeline(transaction=False) as pipe:
            for digest in digests:
                pipe.delete(self._key(digest))
            pipe.delete(person_key)
            await pipe.execute()
        return len(digests)
