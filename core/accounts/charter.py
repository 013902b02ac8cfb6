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

from core.accounts.store import PROFILE_STAMP
from core.errors import CharterNotAccepted, NotFound
from core.recent import Recent
from core.redis.keys import Keys

__all__ = [
    "DEFAULT_CHARTER",
    "MAX_CHARTER_CHARS",
    "Charter",
    "Charters",
    "accepted_current",
    "require_current_charter",
]

MAX_CHARTER_CHARS = 20_000
VERSION_TTL_SECONDS = 5.0
# The built-in text is the one the pages show (web/account/templates/account/charter.html,
# translated there); keep the two in step.
DEFAULT_CHARTER = (
    "The volunteers' charter.\n\n"
    "The tasks hold the words and data of people the NGOs serve, some of them in danger. By "
    "taking part you promise:\n"
    "1. to keep what you read in a task to yourself: no copies, no screenshots, no sharing;\n"
    "2. never to try to find or contact a person named in a task;\n"
    "3. to answer honestly and as well as you can, and to skip a task you cannot do well;\n"
    "4. to use the button “instructions unclear” or skip rather than guess;\n"
    "5. to respect the other volunteers, the reviewers and the NGOs' staff."
)


@dataclass(frozen=True, slots=True)
class Charter:
    text: str
    version: int
    owner: str  # "operator", or the organisation's id
    organisation: str | None = None  # the organisation's name, for its own charter
    built_in: bool = False  # the text Ruche ships (the pages show it in the reader's language)


class Charters:
    def __init__(self, client: redis.asyncio.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._version: Recent[str, int] = Recent(VERSION_TTL_SECONDS, 1)

    async def operator(self) -> Charter:
        raw = await self.client.hgetall(self.keys.charter)
        if not raw:
            return Charter(DEFAULT_CHARTER, 1, "operator", built_in=True)
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
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(
                self.keys.volunteer(volunteer_id), f"charter:{charter.owner}", charter.version
            )
            # Its claims on the organisation's projects depend on it: bump the stamp.
            pipe.hincrby(self.keys.volunteer(volunteer_id), PROFILE_STAMP, 1)
            await pipe.execute()


def accepted_version(extra: dict[str, str], owner: str, accepted_at_ms: int | None) -> int:
    """The version of ``owner``'s charter the volunteer accepted (0: none). An acceptance from
    before charters had versions was of version 1."""
    field = "charter_version" if owner == "operator" else f"charter:{owner}"
    if field in extra:
        return int(extra[field])
    return 1 if owner == "operator" and accepted_at_ms is not None else 0


async def require_current_charter(
    charters: Charters, extra: dict[str, str], accepted_at_ms: int | None
) -> None:
    """Refuse a claim (403 ``charter_not_accepted``) when the volunteer accepted an older version
    of the operator's charter than the current one: the API and the pages alike. Never having
    accepted it is refused by the claim itself (``core.board.matching.require_charter``)."""
    if accepted_at_ms is None:
        return
    current = await charters.operator_version()
    if accepted_version(extra, "operator", accepted_at_ms) < current:
        raise CharterNotAccepted(
            f"the charter changed (version {current}): read it (GET /v1/me/charter) and "
            "accept it again (POST /v1/me/charter)"
        )


async def accepted_current(
    charters: Charters, extra: dict[str, str], accepted_at_ms: int | None
) -> bool:
    """Whether the volunteer accepted the operator's charter as it is now."""
    if accepted_at_ms is None:
        return False
    current = await charters.operator_version()
    return accepted_version(extra, "operator", accepted_at_ms) >= current
