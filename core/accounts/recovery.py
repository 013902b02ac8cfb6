"""Recovery codes: how a person without e-mail signs in again on the pages.

A code is 20 characters of Crockford's base32 (100 random bits) shown in groups of four
(``7KQ2-M9XD-…``), typeable on a phone: case, spaces and dashes do not matter, and the letters
that look like digits (O, I, L) are read as them. Only its SHA-256 is kept
(``G:recovery:<sha256>`` -> volunteer id, and the volunteer's ``recovery`` field holds the same
hash so a new code replaces the old one). A code stays valid until a new one is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import redis.asyncio

from core.redis.keys import Keys

__all__ = ["RecoveryCodes", "normalise_code"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
_LENGTH = 20
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def normalise_code(text: str) -> str | None:
    """The code's 20 characters, or None when ``text`` cannot be a code."""
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_LOOKALIKES)
    if len(cleaned) != _LENGTH or any(c not in _ALPHABET for c in cleaned):
        return None
    return cleaned


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


class RecoveryCodes:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def issue(self, volunteer_id: str) -> str:
        """A new code for ``volunteer_id`` (shown once); the previous one stops working."""
        code = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        digest = _digest(code)
        previous = await self.client.hget(self.keys.volunteer(volunteer_id), "recovery")
        await self.client.set(self.keys.recovery_code(digest), volunteer_id)
        await self.client.hset(self.keys.volunteer(volunteer_id), "recovery", digest)
        if previous and previous != digest:
            await self.client.delete(self.keys.recovery_code(str(previous)))
        return "-".join(code[i : i + 4] for i in range(0, _LENGTH, 4))

    async def find(self, text: str) -> str | None:
        """The volunteer whose current code ``text`` is, or None."""
        code = normalise_code(text)
        if code is None:
            return None
        digest = _digest(code)
        volunteer_id = await self.client.get(self.keys.recovery_code(digest))
        if volunteer_id is None:
            return None
        current = await self.client.hget(self.keys.volunteer(str(volunteer_id)), "recovery")
        if current is None or not hmac.compare_digest(str(current).encode(), digest.encode()):
            return None
        return str(volunteer_id)
