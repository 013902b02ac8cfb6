"""The server's signing key: random, made once, kept in Redis so that every API process signs
and checks with the same one (CSRF tokens, certificates). Losing it (a flushed Redis) only
invalidates open forms and certificate signatures, which are re-signed on their next view."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import redis.asyncio

from core.redis.keys import Keys

__all__ = ["ServerSecret"]


class ServerSecret:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._key: bytes | None = None

    async def key(self) -> bytes:
        if self._key is None:
            await self.client.set(self.keys.web_secret, secrets.token_hex(32), nx=True)
            stored = await self.client.get(self.keys.web_secret)
            self._key = str(stored).encode()
        return self._key

    async def sign(self, purpose: str, message: str) -> str:
        """A hex HMAC-SHA256 of ``message`` for ``purpose`` (a CSRF token is never a valid
        certificate signature, and the other way round)."""
        key = await self.key()
        return hmac.new(key, f"{purpose}\n{message}".encode(), hashlib.sha256).hexdigest()

    async def verify(self, purpose: str, message: str, signature: str) -> bool:
        expected = await self.sign(purpose, message)
        return hmac.compare_digest(expected.encode(), signature.encode())
