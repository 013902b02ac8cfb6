"""Invitation codes: how people join when the operator closed open sign-up
(``RUCHE_SIGNUP=invitation``).

The operator (admin token) and each organisation (its API key) make codes, each good for a
number of joins until a date, list theirs and revoke them. Only a code's SHA-256 is kept:

- ``G:invite:<sha256>`` hash ``id, issuer, uses, used, expires, created`` (ms), and ``project``
  for an invitation to one of the issuing organisation's projects; the key lives
  :data:`KEPT_AFTER_EXPIRY_DAYS` past the code's expiry, so that a late visitor is told it
  expired rather than that it never existed;
- ``G:invites:<issuer>`` hash invitation id -> code hash (``issuer``: ``admin`` or an
  organisation id), for listing; a revoked code's record is deleted;
- ``G:invitation:<id>`` string ``<issuer> <code hash>``, living as long as the record would:
  who may revoke it (its issuer, or the operator, who may revoke any), and revoking it again
  changes nothing (DELETE is idempotent) while another issuer still gets a 404.

Using a code (:meth:`Invitations.redeem`) is one MULTI: ``HINCRBY used 1`` and ``HGETALL``. A use
past the limit (or past the date) is given back at once, so of concurrent joins on a code's last
use exactly one gets it, and ``used`` never stays above ``uses``.

Invitation-only projects. An organisation's invitation (its whole organisation, or one of its
projects) also admits the person who joins or accepts with it: :meth:`Invitations.admit` adds
the scope (the project id, or the organisation id) to ``G:vol:<id>:admitted``, which the claim
matcher checks for a project set ``invitation_only`` (:mod:`core.board.matching`). A person
already signed in accepts an invitation on the join page too (a use is counted the same way).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio

from core.errors import InvitationRefused, NotFound
from core.redis.keys import Keys

__all__ = [
    "KEPT_AFTER_EXPIRY_DAYS",
    "MAX_DAYS",
    "MAX_USES",
    "Invitation",
    "Invitations",
]

MAX_USES = 10_000
MAX_DAYS = 365
KEPT_AFTER_EXPIRY_DAYS = 30
_DAY_MS = 24 * 3600 * 1000
_CODE_BYTES = 15  # 120 bits, 20 URL-safe characters
_MAX_CODE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    issuer: str
    uses: int
    used: int
    expires_ms: int
    created_ms: int
    project_id: str | None = None  # the issuer's project it admits to; None: the whole issuer

    @property
    def scope(self) -> str:
        """What it admits to: a project id, or the issuer (an organisation id, or ``admin``)."""
        return self.project_id or self.issuer


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _invitation(record: dict[str, str]) -> Invitation:
    return Invitation(
        id=record["id"],
        issuer=record["issuer"],
        uses=int(record["uses"]),
        used=int(record.get("used", 0)),
        expires_ms=int(record["expires"]),
        created_ms=int(record["created"]),
        project_id=record.get("project") or None,
    )


class Invitations:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        keys: Keys,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.keys = keys
        self.clock = clock

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def create(
        self, issuer: str, uses: int, expires_in_days: int, *, project_id: str | None = None
    ) -> tuple[Invitation, str]:
        """A new invitation of ``issuer`` and its code (returned once, never stored);
        ``project_id`` (one of the issuer's projects, which the caller checked) narrows what
        it admits to that project."""
        if not (1 <= uses <= MAX_USES and 1 <= expires_in_days <= MAX_DAYS):
            raise ValueError("uses or expires_in_days out of range")  # the API's models check
        code = secrets.token_urlsafe(_CODE_BYTES)
        digest = _digest(code)
        now = self._now_ms()
        invitation = Invitation(
            id="inv_" + secrets.token_hex(8),
            issuer=issuer,
            uses=uses,
            used=0,
            expires_ms=now + expires_in_days * _DAY_MS,
            created_ms=now,
            project_id=project_id,
        )
        key = self.keys.invitation(digest)
        fields: dict[str, str | int] = {
            "id": invitation.id,
            "issuer": issuer,
            "uses": uses,
            "used": 0,
            "expires": invitation.expires_ms,
            "created": now,
        }
        if project_id:
            fields["project"] = project_id
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.pexpireat(key, invitation.expires_ms + KEPT_AFTER_EXPIRY_DAYS * _DAY_MS)
            pipe.hset(self.keys.invitations(issuer), invitation.id, digest)
            pipe.set(
                self.keys.invitation_id(invitation.id),
                f"{issuer} {digest}",
                pxat=invitation.expires_ms + KEPT_AFTER_EXPIRY_DAYS * _DAY_MS,
            )
            await pipe.execute()
        return invitation, code

    async def check(self, code: str) -> Invitation:
        """The invitation ``code`` opens, without using it; :class:`InvitationRefused` else."""
        record = await self._record(code)
        if record is None:
            raise InvitationRefused("unknown")
        invitation = _invitation(record)
        self._refuse_spent(invitation, with_one_more=invitation.used + 1)
        return invitation

    def _refuse_spent(self, invitation: Invitation, with_one_more: int) -> None:
        """Refused when expired, or when one more use (``with_one_more`` counts it) is too many."""
        if invitation.expires_ms <= self._now_ms():
            raise InvitationRefused("expired")
        if with_one_more > invitation.uses:
            raise InvitationRefused("used_up")

    async def _record(self, code: str) -> dict[str, str] | None:
        if not code or len(code) > _MAX_CODE_LENGTH:
            return None
        raw = await self.client.hgetall(self.keys.invitation(_digest(code)))
        return {str(k): str(v) for k, v in raw.items()} if raw and "uses" in raw else None

    async def redeem(self, code: str) -> Invitation:
        """Uses ``code`` once (:meth:`give_back` returns the use when the join then fails);
        :class:`InvitationRefused` when it is unknown, revoked, used up or expired."""
        if not code or len(code) > _MAX_CODE_LENGTH:
            raise InvitationRefused("unknown")
        key = self.keys.invitation(_digest(code))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "used", 1)
            pipe.hgetall(key)
            used, raw = await pipe.execute()
        record = {str(k): str(v) for k, v in raw.items()}
        if "uses" not in record:  # revoked or never made: the HINCRBY made a stray key
            await self.client.delete(key)
            raise InvitationRefused("unknown")
        invitation = _invitation(record)
        try:
            self._refuse_spent(invitation, with_one_more=int(used))  # this use is counted
        except InvitationRefused:
            await self.client.hincrby(key, "used", -1)
            raise
        return invitation

    async def give_back(self, code: str) -> None:
        """Returns a use taken by :meth:`redeem` (the join it was for did not happen)."""
        if await self._record(code) is not None:
            await self.client.hincrby(self.keys.invitation(_digest(code)), "used", -1)

    async def admit(self, volunteer_id: str, invitation: Invitation) -> None:
        """Opens the invitation's scope (its project, or its organisation's invitation-only
        projects) to the person; the operator's invitations open sign-up only."""
        if invitation.issuer != "admin":
            await self.client.sadd(self.keys.volunteer_admitted(volunteer_id), invitation.scope)

    async def list(self, issuer: str) -> list[Invitation]:
        """``issuer``'s invitations, newest first (those forgotten since expiry left out)."""
        index = self.keys.invitations(issuer)
        digests = {str(k): str(v) for k, v in (await self.client.hgetall(index)).items()}
        found: list[Invitation] = []
        gone: list[str] = []
        for invitation_id, digest in digests.items():
            raw = await self.client.hgetall(self.keys.invitation(digest))
            if raw and "uses" in raw:
                found.append(_invitation({str(k): str(v) for k, v in raw.items()}))
            else:
                gone.append(invitation_id)
        if gone:
            await self.client.hdel(index, *gone)
        return sorted(found, key=lambda i: i.created_ms, reverse=True)

    async def revoke(self, requester: str, invitation_id: str) -> None:
        """The code stops working at once (again: nothing changes). ``requester``: its issuer,
        or ``admin``, who may revoke any; ``NotFound`` for another's or an unknown id."""
        if len(invitation_id) > _MAX_CODE_LENGTH:
            raise NotFound("no such invitation")
        found = await self.client.get(self.keys.invitation_id(invitation_id))
        issuer, _, digest = str(found or "").partition(" ")
        if not digest or requester not in ("admin", issuer):
            raise NotFound("no such invitation")
        await self.client.delete(self.keys.invitation(digest))
        await self.client.hdel(self.keys.invitations(issuer), invitation_id)
