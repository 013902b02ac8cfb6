"""Sign-in links: a random token mailed to a person, good for one sign-in within 15 minutes.

``G:signin:<sha256 of the token>`` -> JSON ``{vol, next, welcome}``, with the link's lifetime
as the key's TTL: an expired link is a missing key, as a used one is (Redis forgets it; no clock
of ours decides). Only the hash is stored, as for API tokens: a copy of Redis signs nobody in.

:meth:`SignInLinks.peek` reads a link without using it (the page a link opens shows a "Sign in"
button: mail scanners fetch links before people do, and must not use them up);
:meth:`SignInLinks.use` reads and deletes it in one MULTI, so of two concurrent uses exactly one
gets the volunteer.

How many links one address receives is bounded (:data:`LINKS_PER_WINDOW` per
:data:`LINK_TTL_SECONDS`, counted per address hash): the form that sends them is open to
anyone, and must not become a way to flood someone's mailbox.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

import redis.asyncio

from core.accounts.emails import email_digest
from core.redis.keys import Keys

__all__ = ["LINKS_PER_WINDOW", "LINK_TTL_SECONDS", "SignInLink", "SignInLinks"]

LINK_TTL_SECONDS = 15 * 60
LINKS_PER_WINDOW = 5
_TOKEN_BYTES = 32
_MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True, slots=True)
class SignInLink:
    volunteer_id: str
    #: The page to go to once signed in (a path of this site).
    next: str
    #: True for the link that opens a new account: its recovery code is shown after it.
    welcome: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _parse(raw: str | bytes | None) -> SignInLink | None:
    if raw is None:
        return None
    record = json.loads(raw)
    return SignInLink(str(record["vol"]), str(record["next"]), bool(record.get("welcome")))


class SignInLinks:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def may_send(self, email: str) -> bool:
        """Counts one more link for ``email`` (normalised); False past the window's bound."""
        key = self.keys.signin_sent(email_digest(email))
        async with self.client.pipeline(transaction=True) as pipe:
            # The window starts with the first link (INCR keeps the key's TTL).
            pipe.set(key, 0, ex=LINK_TTL_SECONDS, nx=True)
            pipe.incr(key)
            _, sent = await pipe.execute()
        return int(sent) <= LINKS_PER_WINDOW

    async def issue(self, volunteer_id: str, next_page: str, *, welcome: bool = False) -> str:
        """A new link's token (to put in the mailed URL; never stored)."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        record = json.dumps({"vol": volunteer_id, "next": next_page, "welcome": welcome})
        await self.client.set(self.keys.signin_link(_digest(token)), record, ex=LINK_TTL_SECONDS)
        return token

    async def peek(self, token: str) -> SignInLink | None:
        """The link, if it can still be used, without using it."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        return _parse(await self.client.get(self.keys.signin_link(_digest(token))))

    async def use(self, token: str) -> SignInLink | None:
        """The link, which can never be used again; None when it is unknown, used or expired."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        key = self.keys.signin_link(_digest(token))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.delete(key)
            raw, _ = await pipe.execute()
        return _parse(raw)
