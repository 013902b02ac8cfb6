"""The confidentiality charter volunteers accept before any task: the operator's (the built-in
text until the operator sets one, ``PUT /v1/charter``) and, for an organisation that wrote its
own (``PUT /v1/org/charter``), the organisation's. Each has a version, raised by every change;
a new version of the operator's asks every volunteer to accept it again before their next claim
(403 ``charter_not_accepted``). An organisation's charter is served and its acceptance recorded
per volunteer (``charter:<org-id>``); claims are gated by the operator's.

The operator's version is read once per claim from a per-process copy kept
:data:`VERSION_TTL_SECONDS` (a new version applies within that time).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio

from core.errors import NotFound
from core.recent import Recent
from core.redis.keys import Keys

__all__ = ["DEFAULT_CHARTER", "MAX_CHARTER_CHARS", "Charter", "Charters"]

MAX_CHARTER_CHARS = 20_000
VERSION_TTL_SECONDS = 5.0
DEFAULT_CHARTER = (
    "The volunteers' charter.\n\n"
    "The tasks you see may hold people's personal data (names, addresses, messages). You use "
    "them only to do the task: you do not copy, keep, share or publish them, nor try to find "
    "out who the people in them are. You answer in good faith, and skip a task rather than "
    "guess. You may stop at any time; you may export or erase your data (GET /v1/me/export, "
    "DELETE /v1/me)."
)


@dataclass(frozen=True, slots=True)
class Charter:
    text: str
    version: int
    owner: str  # "operator", or the organisation's id
    organisation: str | None = None  # the organisation's name, for its own charter


class Charters:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._version: Recent[str, int] = Recent(VERSION_TTL_SECONDS, 1)

    async def operator(self) -> Charter:
        raw = await self.client.hgetall(self.keys.charter)
        if not raw:
            return Charter(DEFAULT_CHARTER, 1, "operator")
        return Charter(str(raw["text"]), int(raw["version"]), "operator")

    async def operator_version(self) -> int:
        known = self._version.get("operator")
        if known is None:
            read_at = self._version.now()
            version = await self.client.hget(self.keys.charter, "version")
            known = int(version) if version else 1
            self._version.put("operator", known, read_at)
        return known

    async def for_organisation(self, org_id: str) -> Charter:
        """The organisation's own charter, else the operator's (NotFound: no such org)."""
        raw = await self.client.hgetall(self.keys.org(org_id))
        if not raw or "deleting" in raw:
            raise NotFound("no such organisation")
        if not raw.get("charter_text"):
            return await self.operator()
        return Charter(
            str(raw["charter_text"]), int(raw["charter_version"]), org_id, str(raw.get("name"))
        )

    async def set_operator(self, text: str) -> Charter:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hsetnx(self.keys.charter, "version", 1)  # the built-in text was version 1
            pipe.hincrby(self.keys.charter, "version", 1)
            pipe.hset(self.keys.charter, "text", text)
            _, version, _ = await pipe.execute()
        self._version.forget("operator")
        return Charter(text, int(version), "operator")

    async def set_organisation(self, org_id: str, text: str) -> Charter:
        key = self.keys.org(org_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "charter_version", 1)
            pipe.hset(key, "charter_text", text)
            pipe.hget(key, "name")
            version, _, name = await pipe.execute()
        return Charter(text, int(version), org_id, str(name or ""))

    async def accept(self, volunteer_id: str, charter: Charter) -> None:
        """Record an organisation's charter accepted (the operator's: ``Accounts.accept_charter``,
        which the pages call too)."""
        await self.client.hset(
            self.keys.volunteer(volunteer_id), f"charter:{charter.owner}", charter.version
        )


def accepted_version(extra: dict[str, str], owner: str, accepted_at_ms: int | None) -> int:
    """The version of ``owner``'s charter the volunteer accepted (0: none). An acceptance from
    before charters had versions was of version 1."""
    field = "charter_version" if owner == "operator" else f"charter:{owner}"
    if field in extra:
        return int(extra[field])
    return 1 if owner == "operator" and accepted_at_ms is not None else 0
